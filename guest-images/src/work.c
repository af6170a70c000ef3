/*
 * Workloads at CPL 3: heartbeats, memory dirtiers with a checkable invariant, the verifier,
 * power-off, the disk workloads (disk.c), and the COM1 command reader (CPU 0).
 */
#include "kernel.h"

struct config cfg;

/* ---- command line ---- */

static int word_is(const char *w, u64 n, const char *key, const char **val)
{
    u64 k = strlen(key);
    if (n <= k || memcmp(w, key, k) || w[k] != '=')
        return 0;
    *val = w + k + 1;
    return 1;
}

static u64 num(const char *s, const char *end)
{
    u64 v = 0;
    while (s < end && *s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return v;
}

static u64 hexnum(const char *s, const char *end)
{
    u64 v = 0;
    for (; s < end; s++) {
        int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
              : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;
        if (d < 0)
            break;
        v = v * 16 + (u64)d;
    }
    return v;
}

static int val_is(const char *v, const char *end, const char *lit)
{
    u64 n = strlen(lit);
    return (u64)(end - v) == n && !memcmp(v, lit, n);
}

/* features=min | a comma list of noindirect, noeventidx, nomrg: feature bits the virtio
 * drivers refuse although the device offers them, so that both paths of each get exercised. */
static u64 features_refused(const char *v, const char *end)
{
    u64 bits = 0;
    while (v < end) {
        const char *e = v;
        while (e < end && *e != ',')
            e++;
        if (val_is(v, e, "min"))
            bits |= 1UL << 28 | 1UL << 29 | 1UL << 15;
        else if (val_is(v, e, "noindirect"))
            bits |= 1UL << 28;              /* VIRTIO_F_INDIRECT_DESC */
        else if (val_is(v, e, "noeventidx"))
            bits |= 1UL << 29;              /* VIRTIO_F_EVENT_IDX */
        else if (val_is(v, e, "nomrg"))
            bits |= 1UL << 15;              /* VIRTIO_NET_F_MRG_RXBUF */
        v = e + 1;
    }
    return bits;
}

/* cpus=0,2,3: a bit per CPU named (those below MAXCPU) */
static u64 cpu_list(const char *v, const char *end)
{
    u64 bits = 0;
    while (v < end) {
        const char *e = v;
        while (e < end && *e != ',')
            e++;
        u64 c = num(v, e);
        if (e > v && c < MAXCPU && c < 64)
            bits |= 1UL << c;
        v = e + 1;
    }
    return bits;
}

/* ip=a.b.c.d[/prefix] (default prefix 24), kept in network byte order */
static void parse_ip(const char *v, const char *end)
{
    u32 ip = 0, prefix = 24;
    for (int i = 0; i < 4; i++) {
        const char *e = v;
        while (e < end && *e >= '0' && *e <= '9')
            e++;
        ip = ip << 8 | ((u32)num(v, e) & 0xFF);
        v = e < end ? e + 1 : e;
        if (i == 3 && e < end && *e == '/')
            prefix = (u32)num(v, end);
    }
    u32 mask = prefix >= 32 ? 0xFFFFFFFFu : prefix == 0 ? 0 : ~0u << (32 - prefix);
    cfg.vnet_ip = __builtin_bswap32(ip);
    cfg.vnet_mask = __builtin_bswap32(mask);
}

void parse_cmdline(const char *s)
{
    cfg.mode = MODE_IDLE;
    cfg.mib = 0;
    cfg.disk_drive = 0;
    cfg.disk_lba = 4096;            /* 2 MiB: past the loader and testos (LBA 0..~100) */
    cfg.disk_sectors = 256;         /* PIO here: about 14 ms a sector written and read back */
    cfg.disk_count = 64;
    cfg.disk_dma = 0;
    cfg.disk_lba48 = 0;
    cfg.disk_seed = 1;
    cfg.disk_write = 1;
    cfg.vblk_depth = 1;
    cfg.vnet_rxbuf = 2048;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        const char *w = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        u64 n = s - w;
        const char *v;
        if (word_is(w, n, "mode", &v)) {
            if (val_is(v, s, "poweroff")) cfg.mode = MODE_POWEROFF;
            else if (val_is(v, s, "idle")) cfg.mode = MODE_IDLE;
            else if (val_is(v, s, "dirty")) cfg.mode = MODE_DIRTY;
            else if (val_is(v, s, "verify")) cfg.mode = MODE_VERIFY;
            else if (val_is(v, s, "disk")) cfg.mode = MODE_DISK;
            else if (val_is(v, s, "disk-bad")) cfg.mode = MODE_DISK_BAD;
            else if (val_is(v, s, "vblk")) cfg.mode = MODE_VBLK;
            else if (val_is(v, s, "vnet")) cfg.mode = MODE_VNET;
        } else if (word_is(w, n, "hb", &v)) {
            cfg.hb_ms = num(v, s);
        } else if (word_is(w, n, "mib", &v)) {
            cfg.mib = num(v, s);
        } else if (word_is(w, n, "exit", &v)) {
            cfg.has_exit = 1;
            cfg.exit_code = (v + 1 < s && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? hexnum(v + 2, s) : num(v, s);
        } else if (word_is(w, n, "words", &v)) {
            cfg.words = num(v, s) < 509 ? num(v, s) : 509;
        } else if (word_is(w, n, "cpus", &v)) {
            cfg.dirty_cpus = cpu_list(v, s);
        } else if (word_is(w, n, "rate", &v)) {
            cfg.rate = val_is(v, s, "max") ? 0 : num(v, s);
        } else if (word_is(w, n, "drive", &v)) {
            cfg.disk_drive = num(v, s) & 3;
        } else if (word_is(w, n, "lba", &v)) {
            cfg.disk_lba = num(v, s);
        } else if (word_is(w, n, "sectors", &v)) {
            cfg.disk_sectors = num(v, s);
        } else if (word_is(w, n, "count", &v)) {
            cfg.disk_count = num(v, s);
        } else if (word_is(w, n, "dma", &v)) {
            cfg.disk_dma = num(v, s) != 0;
        } else if (word_is(w, n, "lba48", &v)) {
            cfg.disk_lba48 = num(v, s) != 0;
        } else if (word_is(w, n, "seed", &v)) {
            cfg.disk_seed = num(v, s);
        } else if (word_is(w, n, "write", &v)) {
            cfg.disk_write = num(v, s) != 0;
        } else if (word_is(w, n, "dev", &v)) {
            cfg.vio_dev = num(v, s);
        } else if (word_is(w, n, "transport", &v)) {
            cfg.vio_legacy = val_is(v, s, "legacy");
        } else if (word_is(w, n, "features", &v)) {
            cfg.vio_nofeat = features_refused(v, s);
        } else if (word_is(w, n, "depth", &v)) {
            cfg.vblk_depth = num(v, s);
        } else if (word_is(w, n, "bs", &v)) {
            cfg.vblk_bs = num(v, s);
        } else if (word_is(w, n, "ios", &v)) {
            cfg.vblk_ios = num(v, s);
        } else if (word_is(w, n, "pattern", &v)) {
            cfg.vblk_rand = val_is(v, s, "rand");
        } else if (word_is(w, n, "op", &v)) {
            cfg.vblk_op = val_is(v, s, "read") ? VBLK_READ : val_is(v, s, "write") ? VBLK_WRITE : VBLK_VERIFY;
        } else if (word_is(w, n, "ip", &v)) {
            parse_ip(v, s);
        } else if (word_is(w, n, "dhcp", &v)) {
            cfg.vnet_dhcp = num(v, s) != 0;
        } else if (word_is(w, n, "rxbuf", &v)) {
            cfg.vnet_rxbuf = num(v, s);
        } else if (word_is(w, n, "irq", &v)) {
            cfg.vio_msix = val_is(v, s, "msix");
        } else if (word_is(w, n, "poll", &v)) {
            cfg.vnet_spin = val_is(v, s, "spin");
        }
    }
    if ((cfg.mode == MODE_DIRTY || cfg.mode == MODE_VERIFY) && !cfg.mib)
        cfg.mib = 16;
}

/* ---- the dirty region: pages of RAM above the kernel, possibly in several pieces ---- */

#define MAX_SEGS 16
static struct { u64 first, base, pages; } seg[MAX_SEGS];
static int nseg;
static u64 region_pages;

void region_init(void)
{
    if (cfg.mode != MODE_DIRTY && cfg.mode != MODE_VERIFY)
        return;
    u64 want = cfg.mib << 8;
    u64 floor = ((u64)_end + 0x1FFFFF) & ~0x1FFFFFUL;
    for (int i = 0; i < e820_n && region_pages < want && nseg < MAX_SEGS; i++) {
        if (e820[i].type != 1)
            continue;
        u64 s = (e820[i].addr + 0xFFF) & ~0xFFFUL, e = (e820[i].addr + e820[i].size) & ~0xFFFUL;
        if (s < floor)
            s = floor;
        if (e > (64UL << 30))
            e = 64UL << 30;
        if (s >= e)
            continue;
        u64 n = (e - s) >> 12;
        if (n > want - region_pages)
            n = want - region_pages;
        seg[nseg++] = (typeof(seg[0])){ region_pages, s, n };
        region_pages += n;
    }
    if (region_pages < want)
        kprintf("DIRTY region short: %lu of %lu pages available\n", region_pages, want);
}

static u64 *page_addr(u64 i)
{
    for (int k = nseg - 1; k >= 0; k--)
        if (i >= seg[k].first)
            return (u64 *)(seg[k].base + ((i - seg[k].first) << 12));
    return NULL;
}

#define PAGE_MAGIC 0x4A48562D44495254UL     /* "JHV-DIRT" */

static u64 filler(u64 page, u64 pass, u64 w)
{
    u64 x = (page * 0x9E3779B97F4A7C15UL) ^ (pass * 0xC2B2AE3D27D4EB4FUL) ^ (w * 0x165667B19E3779F9UL);
    return x ^ (x >> 29);
}

/* With words=N, a rewrite (pass 2 on) changes only words 3..3+N-1 (and the header): sparse
 * changes for XBZRLE.  The rest keeps pass 1's filler, so a page is still a pure function of
 * (i, pass). */
static u64 expected_word(u64 i, u64 pass, u64 w)
{
    if (w == 0)
        return PAGE_MAGIC;
    if (w == 1)
        return i;
    if (w == 2)
        return pass;
    return filler(i, cfg.words && w >= 3 + cfg.words ? 1 : pass, w);
}

static void write_page(u64 i, u64 pass)
{
    u64 *p = page_addr(i);
    u64 end = cfg.words && pass > 1 ? 3 + cfg.words : 512;
    for (u64 w = 3; w < end; w++)
        p[w] = filler(i, pass, w);
    p[0] = PAGE_MAGIC;
    p[1] = i;
    p[2] = pass;
    barrier();      /* the page is complete before the cursor moves past it */
}

/* Per-worker progress, in RAM: pass << 32 | cursor, written with one 8-byte store after the
 * page is complete.  Pages of the slice before the cursor hold `pass`, the rest `pass - 1`
 * (0 = never written). */
static volatile u64 dstate[MAXCPU];
static u32 nwork;

/* Whether CPU r runs the dirtier (cpus= names the writers; absent: every worker). */
static int writes(u32 r)
{
    return r < nwork && (!cfg.dirty_cpus || (cfg.dirty_cpus >> r & 1));
}

/* The region is cut into one slice per writing CPU, in CPU order. */
static void slice(u32 r, u64 *start, u64 *len)
{
    u32 rank = 0, writers = 0;
    for (u32 k = 0; k < nwork; k++) {
        if (writes(k)) {
            rank += k < r;
            writers++;
        }
    }
    *start = region_pages * rank / writers;
    *len = region_pages * (rank + 1) / writers - *start;
}

static int check_page(u64 i, u64 pass, u64 *word, u64 *want, u64 *got)
{
    if (pass == 0)
        return 1;   /* not written yet: anything goes */
    u64 *p = page_addr(i);
    for (u64 w = 0; w < 512; w++) {
        u64 e = expected_word(i, pass, w);
        if (p[w] != e) {
            *word = w;
            *want = e;
            *got = p[w];
            return 0;
        }
    }
    return 1;
}

static void verify_region(void)
{
    if (!region_pages) {
        kprintf("VERIFY FAIL page=0 expected region got none (boot with mode=dirty or mode=verify)\n");
        return;
    }
    for (u32 r = 0; r < nwork; r++) {
        if (!writes(r))
            continue;
        u64 st = dstate[r], pass = st >> 32, cur = st & 0xFFFFFFFF, start, len;
        slice(r, &start, &len);
        for (u64 j = 0; j < len; j++) {
            u64 exp = j < cur ? pass : pass - 1, w, want, got;
            if (!check_page(start + j, exp, &w, &want, &got)) {
                kprintf("VERIFY FAIL page=%lu expected 0x%016lx got 0x%016lx word=%lu pass=%lu\n",
                        start + j, want, got, w, exp);
                return;
            }
        }
    }
    kprintf("VERIFY OK pages=%lu\n", region_pages);
}

/* ---- stopping the dirtiers at a page boundary ---- */

static volatile u32 stop_gen;           /* odd: stop requested */
static volatile u32 ack_gen[MAXCPU];
static volatile u32 pass_done[MAXCPU];  /* mode=verify: this worker finished pass 1 */

/* Returns the first worker that did not stop within ~5 s, or -1 when all did. */
static int stop_all(u32 self)
{
    u32 g = stop_gen + 1;
    WRITE_ONCE(stop_gen, g);
    ack_gen[self] = g;
    u64 t0 = ticks();
    for (u32 r = 0; r < nwork; r++)
        while (READ_ONCE(ack_gen[r]) != g) {
            if (ticks() - t0 > 5 * (u64)hz)
                return (int)r;
            idle_wait();
        }
    return -1;
}

static void resume_all(void)
{
    WRITE_ONCE(stop_gen, stop_gen + 1);
}

static void poweroff(void)
{
    acpi_poweroff();
    delay_ticks(hz);
    kprintf("POWEROFF FAILED\n");
}

/* ---- COM1 commands (CPU 0) ---- */

static char line[80];
static u32 line_len;

static void command(u32 self)
{
    const char *c = line;
    while (*c == ' ')
        c++;
    if (!*c)
        return;
    if (!memcmp(c, "verify", 7)) {
        int stuck = stop_all(self);
        if (stuck >= 0)
            kprintf("VERIFY FAIL page=0 expected stop got no answer from cpu=%d\n", stuck);
        else
            verify_region();
        resume_all();
    } else if (!memcmp(c, "poweroff", 9)) {
        poweroff();
    } else if (!memcmp(c, "reset", 6)) {
        kprintf("RESETTING\n");
        outb(0x64, 0xFE);               /* i8042: pulse the reset line */
    } else if (!memcmp(c, "exit ", 5)) {
        outl(0xf4, (u32)num(c + 5, c + strlen(c)));   /* isa-debug-exit */
    } else if (!memcmp(c, "diskcheck", 10)) {
        disk_check();
    } else if (!memcmp(c, "netstat", 8)) {
        vnet_stats();
    } else if (!memcmp(c, "ping", 5)) {
        kprintf("PONG\n");
    } else if (!memcmp(c, "corrupt ", 8)) {
        u64 i = num(c + 8, c + strlen(c));
        if (i < region_pages) {
            (void)stop_all(self);
            page_addr(i)[3] ^= 1;
            resume_all();
            kprintf("CORRUPTED page=%lu\n", i);
        }
    } else {
        kprintf("UNKNOWN COMMAND %s\n", c);
    }
}

static void poll_serial(u32 self)
{
    int ch;
    while ((ch = serial_getc()) >= 0) {
        if (ch == '\r' || ch == '\n') {
            line[line_len] = 0;
            command(self);
            line_len = 0;
        } else if (line_len + 1 < sizeof line) {
            line[line_len++] = (char)ch;
        }
    }
}

/* ---- the per-CPU loop ---- */

void workload(u32 r, u32 n)
{
    nwork = n;
    int worker = r < n;
    int dirty = writes(r) && (cfg.mode == MODE_DIRTY || cfg.mode == MODE_VERIFY) && region_pages;
    u64 start = 0, len = 0;
    if (dirty) {
        slice(r, &start, &len);
        dstate[r] = 1UL << 32;
        if (!len)
            pass_done[r] = 1;
    } else {
        pass_done[r] = 1;   /* mode=verify: a CPU that does not write has nothing to finish */
    }
    if (r == 0 && cfg.mode == MODE_POWEROFF)
        poweroff();
    if (r == 0 && cfg.has_exit)
        outl(0xf4, (u32)cfg.exit_code);
    if (r == 0 && cfg.mode == MODE_DISK)
        disk_run();
    if (r == 0 && cfg.mode == MODE_DISK_BAD)
        disk_bad();
    if (r == 0 && cfg.mode == MODE_VBLK)
        vblk_run();
    if (r == 0 && cfg.mode == MODE_VNET)
        vnet_init();

    u64 t0 = ticks(), last_poll = ~0UL, written = 0, last_dirty_print = 0, hb_seq = 0;
    u64 hb_next;
    int dirty_printed = 0, verified = 0;
    u32 my_ack = 0;
    hb_next = t0 * 1000 / hz + cfg.hb_ms;

    for (;;) {
        u64 t = ticks(), now_ms = t * 1000 / hz;
        if (cfg.hb_ms && worker && now_ms >= hb_next) {
            kprintf("HB cpu=%u seq=%lu\n", r, hb_seq++);
            hb_next += cfg.hb_ms;
            if (hb_next <= now_ms)      /* fell behind (e.g. slow host): no bursts */
                hb_next = now_ms + cfg.hb_ms;
        }
        int net_busy = r == 0 && cfg.mode == MODE_VNET && vnet_poll();
        if (r == 0 && t != last_poll) {
            last_poll = t;
            poll_serial(r);
            if (acpi_power_button_pressed()) {
                kprintf("POWER BUTTON\n");
                poweroff();
            }
        }
        u32 g = READ_ONCE(stop_gen);
        if (g & 1) {
            if (worker && my_ack != g) {
                my_ack = g;
                ack_gen[r] = g;
            }
            idle_wait();
            continue;
        }
        if (r == 0 && cfg.mode == MODE_VERIFY && !verified) {
            u32 all = 1;
            for (u32 k = 0; k < n; k++)
                all &= !region_pages || pass_done[k];
            if (all) {
                verified = 1;
                verify_region();
            }
        }
        int busy = net_busy || (r == 0 && cfg.mode == MODE_VNET && cfg.vnet_spin);
        if (dirty && len && !pass_done[r]) {
            u64 budget = 64;
            if (cfg.rate) {
                u64 allowed = (t - t0) * cfg.rate / hz + 1;
                if (allowed > written + cfg.rate)   /* no catch-up burst after a stop */
                    written = allowed - cfg.rate;
                budget = allowed > written ? allowed - written : 0;
                if (budget > 64)
                    budget = 64;
            }
            for (u64 k = 0; k < budget; k++) {
                u64 st = dstate[r], pass = st >> 32, cur = st & 0xFFFFFFFF;
                write_page(start + cur, pass);
                cur++;
                if (cur == len) {
                    if (cfg.mode == MODE_VERIFY) {
                        dstate[r] = (pass << 32) | cur;
                        pass_done[r] = 1;
                        break;
                    }
                    dstate[r] = (pass + 1) << 32;
                    if (!dirty_printed || t - last_dirty_print >= (u64)hz) {
                        kprintf("DIRTY cpu=%u pass=%lu\n", r, pass);
                        last_dirty_print = t;
                        dirty_printed = 1;
                    }
                } else {
                    dstate[r] = (pass << 32) | cur;
                }
            }
            written += budget;
            busy = budget != 0;
        }
        if (!busy)
            idle_wait();
    }
}
