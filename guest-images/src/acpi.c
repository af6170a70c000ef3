/* ACPI: find the RSDP, read the MADT (CPUs) and the FADT/DSDT (power-off).  Runs at CPL 3. */
#include "kernel.h"

struct acpi_info acpi;

static int checksum_ok(const u8 *p, u32 n)
{
    u8 s = 0;
    for (u32 i = 0; i < n; i++)
        s += p[i];
    return s == 0;
}

static u64 rsdp_valid(u64 a)
{
    const u8 *p = (const u8 *)a;
    if (memcmp(p, "RSD PTR ", 8) || !checksum_ok(p, 20))
        return 0;
    return a;
}

static u64 rsdp_scan(u64 from, u64 to)
{
    for (u64 a = from; a + 20 <= to; a += 16)
        if (rsdp_valid(a))
            return a;
    return 0;
}

static u64 find_rsdp(u64 hint)
{
    if (hint && rsdp_valid(hint))
        return hint;
    u64 bda = 0x40E;
    __asm__("" : "+r"(bda));    /* a physical address, not an object */
    u64 ebda = (u64)(*(volatile u16 *)bda) << 4;
    u64 r = 0;
    if (ebda >= 0x80000 && ebda < 0xA0000)
        r = rsdp_scan(ebda, ebda + 1024);
    if (!r)
        r = rsdp_scan(0xE0000, 0x100000);
    return r;
}

static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }

#define MAX_TABLES 32
static u64 tables[MAX_TABLES];
static int ntables;

static void read_root(u64 rsdp)
{
    const u8 *r = (const u8 *)rsdp;
    u64 root = 0;
    int wide = 0;
    if (r[15] >= 2 && rd64(r + 24)) {
        root = rd64(r + 24);
        wide = 1;
    } else {
        root = rd32(r + 16);
    }
    if (!root)
        return;
    const u8 *h = (const u8 *)root;
    u32 len = rd32(h + 4);
    if (len < 36 || len > 65536)
        return;
    int esz = wide ? 8 : 4;
    for (u32 off = 36; off + esz <= len && ntables < MAX_TABLES; off += esz)
        tables[ntables++] = wide ? rd64(h + off) : rd32(h + off);
}

static const u8 *find_table(const char *sig, int nth)
{
    for (int i = 0; i < ntables; i++) {
        const u8 *t = (const u8 *)tables[i];
        if (t && !memcmp(t, sig, 4) && nth-- == 0)
            return t;
    }
    return NULL;
}

static void parse_madt(const u8 *m)
{
    u32 len = rd32(m + 4);
    for (u32 off = 44; off + 2 <= len;) {
        u8 type = m[off], elen = m[off + 1];
        if (elen < 2 || off + elen > len)
            break;
        u32 id = 0, flags = 0;
        int is_cpu = 0;
        if (type == 0 && elen >= 8) {           /* Processor Local APIC */
            id = m[off + 3];
            flags = rd32(m + off + 4);
            is_cpu = 1;
        } else if (type == 9 && elen >= 16) {   /* Processor Local x2APIC */
            id = rd32(m + off + 4);
            flags = rd32(m + off + 8);
            is_cpu = 1;
        }
        if (is_cpu && (flags & 1) && id < 255 && acpi.ncpus < MAXCPU) {
            int dup = 0;
            for (int i = 0; i < acpi.ncpus; i++)
                dup |= acpi.apic_ids[i] == id;
            if (!dup)
                acpi.apic_ids[acpi.ncpus++] = (u8)id;
        }
        off += elen;
    }
}

/* Find "_S5_" in an AML table and decode the first element of its package. */
static int find_s5(const u8 *t)
{
    u32 len = rd32(t + 4);
    for (u32 i = 36; i + 8 < len; i++) {
        if (memcmp(t + i, "_S5_", 4))
            continue;
        const u8 *p = t + i + 4;
        if (*p != 0x12)                 /* PackageOp */
            continue;
        p++;
        p += 1 + (*p >> 6);             /* PkgLength */
        p++;                            /* NumElements */
        switch (*p) {
        case 0x00: return 0;            /* ZeroOp */
        case 0x01: return 1;            /* OneOp */
        case 0x0A: return p[1];         /* BytePrefix */
        case 0x0B: return p[1] | (p[2] << 8);
        case 0x0C: return rd32(p + 1);
        default: return 0;
        }
    }
    return -1;
}

static void parse_fadt(const u8 *f)
{
    u32 len = rd32(f + 4);
    acpi.have_fadt = 1;
    acpi.pm1a_cnt = rd32(f + 64);
    acpi.pm1a_evt = rd32(f + 56);
    acpi.pm1b_cnt = rd32(f + 68);
    if (len >= 116)
        acpi.hw_reduced = (rd32(f + 112) >> 20) & 1;
    if (len >= 184 && !acpi.pm1a_cnt && f[172] == 1)    /* X_PM1a_CNT_BLK in I/O space */
        acpi.pm1a_cnt = (u32)rd64(f + 176);
    if (len >= 256) {                                   /* SLEEP_CONTROL_REG */
        acpi.sleep_space = f[244];
        acpi.sleep_addr = rd64(f + 248);
    }
    u64 dsdt = rd32(f + 40);
    if (len >= 148 && rd64(f + 140))
        dsdt = rd64(f + 140);
    acpi.slp_typ = -1;
    if (dsdt && !memcmp((const u8 *)dsdt, "DSDT", 4))
        acpi.slp_typ = find_s5((const u8 *)dsdt);
    for (int n = 0; acpi.slp_typ < 0; n++) {
        const u8 *s = find_table("SSDT", n);
        if (!s)
            break;
        acpi.slp_typ = find_s5(s);
    }
    if (acpi.slp_typ < 0)
        acpi.slp_typ = acpi.hw_reduced ? 5 : 0;
}

void acpi_init(u64 hint)
{
    acpi.rsdp = find_rsdp(hint);
    if (!acpi.rsdp)
        return;
    read_root(acpi.rsdp);
    const u8 *m = find_table("APIC", 0);
    if (m)
        parse_madt(m);
    const u8 *f = find_table("FACP", 0);
    if (f)
        parse_fadt(f);
}

void acpi_poweroff(void)
{
    if (!acpi.have_fadt)
        return;
    if (acpi.hw_reduced) {
        u8 v = (u8)(((acpi.slp_typ & 7) << 2) | (1 << 5));     /* SLP_TYP | SLP_EN */
        if (acpi.sleep_space == 1)
            outb((u16)acpi.sleep_addr, v);
        else if (acpi.sleep_space == 0 && acpi.sleep_addr)
            *(volatile u8 *)acpi.sleep_addr = v;
    } else {
        u16 v = (u16)(((acpi.slp_typ & 7) << 10) | (1 << 13)); /* SLP_TYPa | SLP_EN */
        if (acpi.pm1a_cnt)
            outw((u16)acpi.pm1a_cnt, v);
        if (acpi.pm1b_cnt)
            outw((u16)acpi.pm1b_cnt, v);
    }
}

/* The fixed-feature power button: PWRBTN_STS (bit 8) in PM1_STS, cleared by writing 1. Polled, not by SCI. */
int acpi_power_button_pressed(void)
{
    if (!acpi.pm1a_evt || acpi.hw_reduced)
        return 0;
    u16 sts = inw((u16)acpi.pm1a_evt);
    if (!(sts & 0x100))
        return 0;
    outw((u16)acpi.pm1a_evt, 0x100);
    return 1;
}
