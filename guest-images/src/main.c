/*
 * CPL 3 start of the BSP and the APs: boot information, memory map, LAPIC and its timer,
 * AP bring-up through the MADT, then the workload.  All of this runs natively at CPL 3
 * with IOPL 3; only cpu_start() and the interrupt stubs run at CPL 0.
 */
#include "kernel.h"

struct e820 e820[MAX_E820];
int e820_n;
int hz = 100;
static char cmdline[2048];
static u64 rsdp_hint;
static u64 ram_bytes;

static volatile u32 timer_count;    /* LAPIC initial count for one tick; 0 until calibrated */
static volatile u32 cpus_up;        /* CPUs running at CPL 3 with their timer on (rank source) */
static volatile u32 go;             /* set by the BSP after printing the ready line */
static volatile u32 nworkers;

#define HI_PDS 60                   /* RAM up to 64 GiB */
static u64 hi_pd[HI_PDS][512] __attribute__((aligned(4096)));

static u32 lapic_r(u32 reg) { return mmio_r32(LAPIC_BASE + reg); }
static void lapic_w(u32 reg, u32 v) { mmio_w32(LAPIC_BASE + reg, v); }

static void e820_add(u64 addr, u64 size, u32 type)
{
    if (e820_n < MAX_E820 && size)
        e820[e820_n++] = (struct e820){ addr, size, type };
}

/* Copy what we need out of the loader's structures before low memory is reused. */
static void copy_boot_info(void)
{
    u64 cl = 0;
    if (boot_kind == BOOT_PVH) {
        const u8 *si = (const u8 *)boot_ptr;
        if (*(const u32 *)si == 0x336ec578) {
            u32 version = *(const u32 *)(si + 4);
            cl = *(const u64 *)(si + 24);
            rsdp_hint = *(const u64 *)(si + 32);
            if (version >= 1) {
                const u8 *mm = (const u8 *)*(const u64 *)(si + 40);
                u32 n = *(const u32 *)(si + 48);
                for (u32 i = 0; mm && i < n; i++)
                    e820_add(*(const u64 *)(mm + i * 24), *(const u64 *)(mm + i * 24 + 8),
                             *(const u32 *)(mm + i * 24 + 16));
            }
        }
    } else {
        const u8 *bp = (const u8 *)boot_ptr;
        cl = *(const u32 *)(bp + 0x228) | ((u64)*(const u32 *)(bp + 0x0c8) << 32);
        rsdp_hint = *(const u64 *)(bp + 0x070);
        u32 n = bp[0x1e8];
        for (u32 i = 0; i < n && i < 128; i++) {
            const u8 *e = bp + 0x2d0 + i * 20;
            e820_add(*(const u64 *)e, *(const u64 *)(e + 8), *(const u32 *)(e + 16));
        }
    }
    if (cl) {
        const char *s = (const char *)cl;
        u64 i = 0;
        for (; i + 1 < sizeof cmdline && s[i]; i++)
            cmdline[i] = s[i];
        cmdline[i] = 0;
    }
    for (int i = 0; i < e820_n; i++)
        if (e820[i].type == 1)
            ram_bytes += e820[i].size;
}

/* Identity-map RAM above 4 GiB (2 MiB user pages).  The entries were not present before,
 * so no TLB flush is needed and this can be done from CPL 3. */
static void map_high_ram(void)
{
    for (int i = 0; i < e820_n; i++) {
        if (e820[i].type != 1)
            continue;
        u64 s = e820[i].addr & ~0x1FFFFFUL, e = e820[i].addr + e820[i].size;
        for (u64 a = s < (4UL << 30) ? (4UL << 30) : s; a < e; a += 2UL << 20) {
            u64 gi = a >> 30;
            if (gi >= 4 + HI_PDS)
                break;
            hi_pd[gi - 4][(a >> 21) & 511] = a | 0x87;
        }
    }
    for (int g = 0; g < HI_PDS; g++)
        for (int j = 0; j < 512; j++)
            if (hi_pd[g][j]) {
                WRITE_ONCE(pdpt[4 + g], (u64)hi_pd[g] | 0x7);
                break;
            }
}

/*
 * Device memory outside the static low 4 GiB map (a 64-bit BAR SeaBIOS put above 4 GiB):
 * 2 MiB user pages with PCD | PWT, the page-table pages from a small pool.  Only entries
 * that were not present are written, so no TLB flush is needed and CPL 3 can do it.  Below
 * 4 GiB the static map already covers the PCI hole (write-back in the PTE, but the accesses
 * trap to the VMM anyway and SeaBIOS's MTRRs make the hole uncached).
 */
#define MMIO_PT_PAGES 8
static u64 mmio_pt[MMIO_PT_PAGES][512] __attribute__((aligned(4096)));
static int mmio_pt_used;

static u64 *next_level(u64 *entry)
{
    if (!(*entry & 1)) {
        if (mmio_pt_used == MMIO_PT_PAGES)
            return NULL;
        WRITE_ONCE(*entry, (u64)mmio_pt[mmio_pt_used++] | 0x7);
    }
    return (u64 *)(*entry & 0x000FFFFFFFFFF000UL);
}

int map_mmio(u64 addr, u64 len)
{
    for (u64 a = addr & ~0x1FFFFFUL; a < addr + len; a += 2UL << 20) {
        if (a < (4UL << 30))
            continue;
        u64 *pdp = next_level(&pml4[(a >> 39) & 511]);
        u64 *pd = pdp ? next_level(&pdp[(a >> 30) & 511]) : NULL;
        if (!pd)
            return -1;
        u64 *e = &pd[(a >> 21) & 511];
        if (!(*e & 1))
            WRITE_ONCE(*e, a | 0x9F);       /* P | RW | US | PWT | PCD | PS */
    }
    return 0;
}

static void lapic_local_init(void)
{
    lapic_w(0xF0, 0x100 | VEC_SPURIOUS);    /* SVR: enable */
    lapic_w(0x80, 0);                       /* TPR */
    lapic_w(0x350, 1 << 16);                /* LINT0 masked */
    lapic_w(0x360, 1 << 16);                /* LINT1 masked */
    lapic_w(0x370, 1 << 16);                /* error masked */
}

static void lapic_timer_start(void)
{
    lapic_w(0x3E0, 0x3);                    /* divide by 16 */
    lapic_w(0x320, VEC_TIMER | (1 << 17));  /* periodic */
    lapic_w(0x380, timer_count);
}

/* LAPIC ticks (divide 16) in 1/hz s, from the hypervisor timing leaf if there is one. */
static u32 timer_from_cpuid(void)
{
    u32 a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    if (!(c & (1u << 31)))
        return 0;
    cpuid(0x40000000, 0, &a, &b, &c, &d);
    if (a < 0x40000010)
        return 0;
    cpuid(0x40000010, 0, &a, &b, &c, &d);
    return b ? (u32)((u64)b * 1000 / 16 / hz) : 0;
}

#define PIT_CAL_TICKS 11932                 /* 10 ms of the 1.193182 MHz PIT */

/*
 * PIT calibration.  Channel 2 gated through port 0x61 (OUT2 in bit 5) where there is a speaker
 * port; QEMU's microvm has none (0x61 reads 0xFF), so there channel 0 is read back instead.
 */
static int pit_ch0;

static u32 pit_ch0_read(void)
{
    outb(0x43, 0x00);                       /* latch channel 0 */
    u32 lo = inb(0x40);
    return lo | ((u32)inb(0x40) << 8);
}

static void calibrate_begin(void)
{
    lapic_w(0x3E0, 0x3);
    lapic_w(0x320, (1 << 16) | VEC_TIMER);  /* masked one-shot */
    outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate channel 2 on, speaker off */
    outb(0x43, 0xB0);                       /* channel 2, lo/hi, mode 0: OUT2 goes low */
    outb(0x42, PIT_CAL_TICKS & 0xFF);
    outb(0x42, PIT_CAL_TICKS >> 8);
    pit_ch0 = (inb(0x61) & 0x20) != 0;      /* OUT2 already high: no working port 0x61 */
    if (pit_ch0) {
        outb(0x43, 0x30);                   /* channel 0, lo/hi, mode 0, count 65536 */
        outb(0x40, 0);
        outb(0x40, 0);
    }
    lapic_w(0x380, 0xFFFFFFFF);
}

static u32 calibrate_end(void)
{
    if (pit_ch0) {
        u32 prev = 0xFFFF + 1, done = 0;
        for (u64 i = 0; i < 200000 && done < PIT_CAL_TICKS; i++) {
            u32 c = pit_ch0_read();
            if (c <= prev)
                done += prev - c;
            prev = c;
        }
    } else {
        for (u64 i = 0; i < 200000 && !(inb(0x61) & 0x20); i++)
            ;
    }
    u32 elapsed = 0xFFFFFFFF - lapic_r(0x390);
    lapic_w(0x380, 0);
    return (u32)((u64)elapsed * 100 / hz);  /* 10 ms measured */
}

static void send_ipi(u32 apic_id, u32 low)
{
    lapic_w(0x310, apic_id << 24);
    lapic_w(0x300, low);
    for (int i = 0; i < 100000 && (lapic_r(0x300) & (1 << 12)); i++)
        pause();
}

static void start_aps(u32 self)
{
    memcpy((void *)TRAMPOLINE, tramp_start, tramp_end - tramp_start);
    for (u32 i = 1; i < MAXCPU; i++)
        set_tss(i);
    WRITE_ONCE(next_cpu, 1);
    for (int i = 0; i < acpi.ncpus; i++)
        if (acpi.apic_ids[i] != self)
            send_ipi(acpi.apic_ids[i], 0x4500);                     /* INIT */
    for (int i = 0; i < acpi.ncpus; i++)
        if (acpi.apic_ids[i] != self)
            send_ipi(acpi.apic_ids[i], 0x4600 | (TRAMPOLINE >> 12)); /* STARTUP */
}

static void resend_sipi(u32 self)
{
    for (int i = 0; i < acpi.ncpus; i++)
        if (acpi.apic_ids[i] != self)
            send_ipi(acpi.apic_ids[i], 0x4600 | (TRAMPOLINE >> 12));
}

void delay_ticks(u64 n)
{
    u64 end = ticks() + n;
    while (ticks() < end)
        idle_wait();
}

void bsp_main(void)
{
    memset(_bss_start, 0, _bss_end - _bss_start);
    fill_idt();
    clear_io_bitmaps();
    serial_init();
    copy_boot_info();
    map_high_ram();
    parse_cmdline(cmdline);
    lapic_local_init();
    u32 self = lapic_r(0x20) >> 24;
    acpi_init(rsdp_hint);
    if (acpi.ncpus == 0)
        acpi.apic_ids[acpi.ncpus++] = (u8)self;

    u32 tc = timer_from_cpuid();
    if (!tc)
        calibrate_begin();
    /* Rank 0 before any AP can check in: the BSP runs workload(0), so an AP must never draw rank 0 too
       (it did after a reset, when APs came up before the BSP took its rank: two CPUs read COM1). */
    percpu[0].rank = __atomic_fetch_add(&cpus_up, 1, __ATOMIC_SEQ_CST);
    start_aps(self);                        /* APs wake up while the PIT counts */
    if (!tc)
        tc = calibrate_end();
    if (tc < 10000)     /* no usable PIT: assume KVM's 1 GHz APIC bus (divided by 16) */
        tc = 1000000000 / 16 / hz;
    timer_count = tc;
    lapic_timer_start();

    /* Wait for every MADT CPU to check in; retry the SIPI once, give up after ~5 s. */
    u64 t0 = ticks();
    int resent = 0;
    while (cpus_up < (u32)acpi.ncpus && ticks() - t0 < 5 * (u64)hz) {
        if (!resent && ticks() - t0 >= (u64)hz / 2) {
            resend_sipi(self);
            resent = 1;
        }
        pause();
    }
    region_init();
    nworkers = cpus_up;
    kprintf("JHV-GUEST-READY cpus=%u mem=%lu\n", nworkers, (ram_bytes + (1UL << 19)) >> 20);
    WRITE_ONCE(go, 1);
    workload(0, nworkers);
}

void ap_main(void)
{
    lapic_local_init();
    while (!timer_count)
        pause();
    lapic_timer_start();
    u32 rank = __atomic_fetch_add(&cpus_up, 1, __ATOMIC_SEQ_CST);
    percpu[my_index()].rank = rank;
    while (!go)
        pause();
    workload(rank, nworkers);
}
