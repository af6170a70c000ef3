/*
 * mode=disk and mode=disk-bad: an ATA driver for the PIIX IDE controller, at CPL 3 like every
 * workload.  The controller is found through PCI configuration mechanism #1 (class 01
 * subclass 01); the channels use the legacy ports unless the programming interface says
 * native.  Commands go out with nIEN set and are polled: PIO (READ/WRITE SECTORS and the EXT
 * forms) and bus-master DMA (READ/WRITE DMA and EXT, the PRD table in testos's RAM).
 *
 * mode=disk writes a pattern that depends only on the LBA, the word and the seed over the
 * region, reads it back and compares; the same keys give the same disk contents on every
 * VMM, so images written under QEMU and jhv compare equal.  mode=disk-bad hands the drive
 * garbage (a PRD pointing outside RAM, an LBA past the end) and reports what came back.
 */
#include "kernel.h"

static inline void insw(u16 port, void *buf, u64 n)
{
    __asm__ volatile("rep insw" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline void outsw(u16 port, const void *buf, u64 n)
{
    __asm__ volatile("rep outsw" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

/* ATA status bits */
#define ST_BSY  0x80
#define ST_DRDY 0x40
#define ST_DF   0x20
#define ST_DRQ  0x08
#define ST_ERR  0x01
/* ATA commands */
#define CMD_READ_SECTORS        0x20
#define CMD_READ_SECTORS_EXT    0x24
#define CMD_READ_DMA_EXT        0x25
#define CMD_WRITE_SECTORS       0x30
#define CMD_WRITE_SECTORS_EXT   0x34
#define CMD_WRITE_DMA_EXT       0x35
#define CMD_READ_DMA            0xC8
#define CMD_WRITE_DMA           0xCA
#define CMD_FLUSH_CACHE         0xE7
#define CMD_FLUSH_CACHE_EXT     0xEA
#define CMD_IDENTIFY            0xEC
/* device control */
#define CTL_NIEN 0x02
#define CTL_SRST 0x04
/* bus-master registers (per channel) and bits */
#define BM_CMD    0
#define BM_STATUS 2
#define BM_PRD    4
#define BM_START  0x01
#define BM_TO_MEM 0x08      /* bus master writes memory: a read from the disk */
#define BM_ACTIVE 0x01
#define BM_ERROR  0x02
#define BM_IRQ    0x04

#define MAX_COUNT_28 256
#define MAX_COUNT    4096   /* sectors per command: 2 MiB buffers */
#define BUF_BYTES    (MAX_COUNT * 512UL)

static struct {
    u32 bdf;                /* PCI bus/device/function << 8, 0 if none was found */
    u16 cmd, ctl, bm;       /* command block, device control / alt status, bus master */
    u8 dev;                 /* device register: LBA bit and the slave bit */
    int have48;
    u64 total;              /* sectors, from IDENTIFY */
    u8 *wbuf, *rbuf;
} ata;

static u32 prd[2 * (BUF_BYTES >> 16) + 2] __attribute__((aligned(1024)));  /* never crosses 64 KiB */

static int is_ide(u32 bdf, void *arg) { return (pci_read(bdf, 8) >> 16) == 0x0101; }

/* The first IDE controller (class 01, subclass 01) on bus 0, or 0. */
static u32 find_ide(void)
{
    return pci_scan(is_ide, NULL);
}

/* ---- register access and waiting ---- */

static u8 alt_status(void) { return inb(ata.ctl); }

static void delay400(void)
{
    for (int i = 0; i < 4; i++)
        (void)alt_status();
}

/* Waits up to ~5 s for BSY to clear; returns the status (BSY still set on a timeout). */
static u8 wait_idle(void)
{
    u64 t0 = ticks();
    u8 st;
    while ((st = alt_status()) & ST_BSY) {
        if (ticks() - t0 > 5 * (u64)hz)
            return st;
        pause();
    }
    return st;
}

static void report_error(u8 st, u64 lba, u8 command)
{
    kprintf("DISK ERROR status=0x%02x error=0x%02x lba=%lu cmd=0x%02x\n", st, inb(ata.cmd + 1), lba, command);
}

static void select_device(u64 lba, int ext)
{
    outb(ata.cmd + 6, ata.dev | (ext ? 0 : (u8)((lba >> 24) & 0x0F)));
    delay400();
}

static void issue(u8 command, u64 lba, u32 n, int ext)
{
    select_device(lba, ext);
    (void)wait_idle();
    if (ext) {      /* the high bytes first: each register is a two-deep FIFO */
        outb(ata.cmd + 2, (u8)(n >> 8));
        outb(ata.cmd + 3, (u8)(lba >> 24));
        outb(ata.cmd + 4, (u8)(lba >> 32));
        outb(ata.cmd + 5, (u8)(lba >> 40));
    }
    outb(ata.cmd + 2, (u8)n);          /* 256 (65536 with EXT) is written as 0 */
    outb(ata.cmd + 3, (u8)lba);
    outb(ata.cmd + 4, (u8)(lba >> 8));
    outb(ata.cmd + 5, (u8)(lba >> 16));
    outb(ata.cmd + 7, command);
    delay400();
}

/* ---- transfers: 0 on success, else the error line is printed ---- */

static int pio(int write, u64 lba, u32 n, u8 *buf, int ext)
{
    u8 command = write ? (ext ? CMD_WRITE_SECTORS_EXT : CMD_WRITE_SECTORS)
                       : (ext ? CMD_READ_SECTORS_EXT : CMD_READ_SECTORS);
    issue(command, lba, n, ext);
    for (u32 i = 0; i < n; i++) {
        u8 st = wait_idle();
        if ((st & (ST_BSY | ST_ERR | ST_DF)) || !(st & ST_DRQ)) {
            report_error(st, lba + i, command);
            return -1;
        }
        if (write)
            outsw(ata.cmd, buf + i * 512UL, 256);
        else
            insw(ata.cmd, buf + i * 512UL, 256);
    }
    u8 st = wait_idle();
    (void)inb(ata.cmd + 7);             /* the status register: acknowledges the (masked) interrupt */
    if (st & (ST_BSY | ST_ERR | ST_DF | ST_DRQ)) {
        report_error(st, lba + n - 1, command);
        return -1;
    }
    return 0;
}

/* Starts a bus-master transfer of `bytes` at physical `addr` and waits for its end.
 * Returns the ATA status; *bms gets the bus-master status from before the stop. */
static u8 dma_raw(int write, u64 lba, u32 n, u64 addr, u64 bytes, int ext, u8 *bms)
{
    u8 command = write ? (ext ? CMD_WRITE_DMA_EXT : CMD_WRITE_DMA) : (ext ? CMD_READ_DMA_EXT : CMD_READ_DMA);
    u32 k = 0;
    for (u64 off = 0; off < bytes; k += 2) {
        u64 len = bytes - off > 0x10000 ? 0x10000 : bytes - off;
        prd[k] = (u32)(addr + off);
        prd[k + 1] = (u32)(len & 0xFFFF);   /* 0 means 64 KiB */
        off += len;
    }
    prd[k - 1] |= 0x80000000u;              /* end of table */
    u8 dir = write ? 0 : BM_TO_MEM;
    outb(ata.bm + BM_CMD, 0);
    outb(ata.bm + BM_STATUS, inb(ata.bm + BM_STATUS) | BM_ERROR | BM_IRQ);   /* clear error and interrupt */
    outl(ata.bm + BM_PRD, (u32)(u64)prd);
    outb(ata.bm + BM_CMD, dir);
    issue(command, lba, n, ext);
    outb(ata.bm + BM_CMD, dir | BM_START);
    u64 t0 = ticks();
    u8 st, bs;
    /* Done when the drive is: neither BSY nor DRQ (DRQ stays up while a DMA command waits for
     * the bus master).  Active can stay set when the PRDs are longer than the transfer. */
    for (;;) {
        bs = inb(ata.bm + BM_STATUS);
        st = alt_status();
        if (!(st & (ST_BSY | ST_DRQ)) || (bs & BM_ERROR) || ticks() - t0 > 5 * (u64)hz)
            break;
        pause();
    }
    *bms = inb(ata.bm + BM_STATUS);
    outb(ata.bm + BM_CMD, dir);             /* stop */
    (void)inb(ata.cmd + 7);
    return st;
}

static int dma(int write, u64 lba, u32 n, u8 *buf, int ext)
{
    u8 bs, st = dma_raw(write, lba, n, (u64)buf, n * 512UL, ext, &bs);
    if ((st & (ST_BSY | ST_ERR | ST_DF | ST_DRQ)) || (bs & BM_ERROR)) {
        kprintf("DISK ERROR status=0x%02x error=0x%02x lba=%lu cmd=0x%02x bm=0x%02x\n", st, inb(ata.cmd + 1), lba,
                write ? (ext ? CMD_WRITE_DMA_EXT : CMD_WRITE_DMA) : (ext ? CMD_READ_DMA_EXT : CMD_READ_DMA), bs);
        return -1;
    }
    return 0;
}

static int flush(int ext)
{
    u8 command = ext ? CMD_FLUSH_CACHE_EXT : CMD_FLUSH_CACHE;
    issue(command, 0, 0, ext);
    u8 st = wait_idle();
    (void)inb(ata.cmd + 7);
    if (st & (ST_BSY | ST_ERR | ST_DF)) {
        report_error(st, 0, command);
        return -1;
    }
    return 0;
}

/* Software reset of the channel, after garbage left the drive busy. */
static void channel_reset(void)
{
    outb(ata.ctl, CTL_NIEN | CTL_SRST);
    delay400();
    outb(ata.ctl, CTL_NIEN);
    (void)wait_idle();
}

/* ---- set-up: controller, channel, drive ---- */

int ram_covers(u64 a, u64 len)
{
    for (int i = 0; i < e820_n; i++)
        if (e820[i].type == 1 && e820[i].addr <= a && a + len <= e820[i].addr + e820[i].size)
            return 1;
    return 0;
}

static int disk_setup(int need_dma)
{
    u32 found = find_ide();
    u32 ch = cfg.disk_drive >> 1;
    ata.bdf = found & 0x00FFFF00u;
    ata.cmd = ch ? 0x170 : 0x1F0;
    ata.ctl = ch ? 0x376 : 0x3F6;
    ata.bm = 0;
    if (found) {
        u32 progif = (pci_read(ata.bdf, 8) >> 8) & 0xFF;
        if (progif & (1u << (2 * ch))) {    /* native mode: the ports come from BAR0/1 or BAR2/3 */
            ata.cmd = (u16)(pci_read(ata.bdf, 0x10 + 8 * ch) & 0xFFFC);
            ata.ctl = (u16)((pci_read(ata.bdf, 0x14 + 8 * ch) & 0xFFFC) + 2);
        }
        u32 bar4 = pci_read(ata.bdf, 0x20);
        if (!(bar4 & 0xFFFC)) {             /* the firmware left BAR4 unassigned */
            pci_write(ata.bdf, 0x20, 0xC000);
            bar4 = pci_read(ata.bdf, 0x20);
        }
        ata.bm = (u16)((bar4 & 0xFFFC) + 8 * ch);
        u16 command = (u16)pci_read(ata.bdf, 4);
        if ((command & 0x5) != 0x5)         /* I/O space and bus master */
            pci_write16(ata.bdf, 4, command | 0x5);
    } else if (need_dma) {
        kprintf("DISK ERROR no-controller\n");
        return -1;
    }
    ata.wbuf = (u8 *)(((u64)_end + 0x1FFFFF) & ~0x1FFFFFUL);
    ata.rbuf = ata.wbuf + BUF_BYTES;
    if (!ram_covers((u64)ata.wbuf, 2 * BUF_BYTES)) {
        kprintf("DISK ERROR no-buffer at=0x%lx\n", (u64)ata.wbuf);
        return -1;
    }

    /* IDENTIFY DEVICE */
    ata.dev = 0xE0 | (u8)((cfg.disk_drive & 1) << 4);
    select_device(0, 1);
    outb(ata.ctl, CTL_NIEN);
    u8 st = alt_status();
    if (st == 0 || st == 0xFF) {
        kprintf("DISK ERROR no-drive drive=%u status=0x%02x\n", (u32)cfg.disk_drive, st);
        return -1;
    }
    issue(CMD_IDENTIFY, 0, 0, 1);
    st = wait_idle();
    if ((st & (ST_BSY | ST_ERR | ST_DF)) || !(st & ST_DRQ)) {
        report_error(st, 0, CMD_IDENTIFY);
        return -1;
    }
    u16 id[256];
    insw(ata.cmd, id, 256);
    (void)inb(ata.cmd + 7);
    ata.have48 = (id[83] >> 10) & 1;
    ata.total = ata.have48 ? id[100] | (u64)id[101] << 16 | (u64)id[102] << 32 | (u64)id[103] << 48
                           : id[60] | (u64)id[61] << 16;
    kprintf("DISK DRIVE drive=%u pci=%02x:%02x.%u id=%04x:%04x cmd=0x%x ctl=0x%x bm=0x%x sectors=%lu lba48=%u\n",
            (u32)cfg.disk_drive, (ata.bdf >> 16) & 0xFF, (ata.bdf >> 11) & 0x1F, (ata.bdf >> 8) & 7,
            found ? pci_read(ata.bdf, 0) & 0xFFFF : 0, found ? pci_read(ata.bdf, 0) >> 16 : 0,
            ata.cmd, ata.ctl, ata.bm, ata.total, (u32)ata.have48);
    return 0;
}

/* ---- the pattern ---- */

/* Also virtio-blk's (vblk.c): both modes write the same bytes for the same keys. */
u64 disk_pattern(u64 lba, u64 w)
{
    if (w == 0)
        return lba;
    if (w == 1)
        return 0x4A48562D4449534BUL ^ cfg.disk_seed;   /* "JHV-DISK" ^ seed */
    u64 x = (lba * 0x9E3779B97F4A7C15UL) ^ (cfg.disk_seed * 0xC2B2AE3D27D4EB4FUL) ^ (w * 0x165667B19E3779F9UL);
    x ^= x >> 31;
    x *= 0xD6E8FEB86659FD93UL;
    return x ^ (x >> 32);
}

static int xfer(int write, u64 lba, u32 n, u8 *buf, int ext)
{
    return cfg.disk_dma ? dma(write, lba, n, buf, ext) : pio(write, lba, n, buf, ext);
}

static int region(int *ext, u32 *count)
{
    u64 end = cfg.disk_lba + cfg.disk_sectors;
    *ext = cfg.disk_lba48 || end > (1UL << 28);
    if (*ext && !ata.have48) {
        kprintf("DISK ERROR no-lba48 lba=%lu sectors=%lu\n", cfg.disk_lba, cfg.disk_sectors);
        return -1;
    }
    if (end > ata.total || end < cfg.disk_lba) {
        kprintf("DISK ERROR region lba=%lu sectors=%lu disk=%lu\n", cfg.disk_lba, cfg.disk_sectors, ata.total);
        return -1;
    }
    u32 max = *ext ? MAX_COUNT : MAX_COUNT_28;
    *count = cfg.disk_count == 0 ? 1 : cfg.disk_count > max ? max : (u32)cfg.disk_count;
    return 0;
}

/* Also vblk.c's: fills n sectors of buf with the pattern of lba onwards. */
void pattern_fill(u8 *buf, u64 lba, u32 n)
{
    u64 *p = (u64 *)buf;
    for (u32 s = 0; s < n; s++)
        for (u64 w = 0; w < 64; w++)
            p[s * 64 + w] = disk_pattern(lba + s, w);
}

/* 0 if buf holds the pattern, else -1 with "<what> FAIL lba=.. word=.. expected .. got .." printed. */
int pattern_check(const char *what, const u8 *buf, u64 lba, u32 n)
{
    const u64 *p = (const u64 *)buf;
    for (u32 s = 0; s < n; s++)
        for (u64 w = 0; w < 64; w++) {
            u64 want = disk_pattern(lba + s, w), got = p[s * 64 + w];
            if (got != want) {
                kprintf("%s FAIL lba=%lu word=%lu expected 0x%016lx got 0x%016lx\n", what, lba + s, w, want, got);
                return -1;
            }
        }
    return 0;
}

static int ready;   /* disk_setup succeeded: the serial command diskcheck may read */

static u64 t_start;  /* ticks at the start of the run (or of diskcheck) */

static void read_back(int ext, u32 count)
{
    for (u64 lba = cfg.disk_lba; lba < cfg.disk_lba + cfg.disk_sectors; lba += count) {
        u32 n = cfg.disk_lba + cfg.disk_sectors - lba < count ? (u32)(cfg.disk_lba + cfg.disk_sectors - lba) : count;
        memset(ata.rbuf, 0xA5, n * 512UL);  /* a read that moves nothing must not pass */
        if (xfer(0, lba, n, ata.rbuf, ext) || pattern_check("DISK", ata.rbuf, lba, n))
            return;
    }
    kprintf("DISK OK sectors=%lu dma=%u lba48=%u drive=%u lba=%lu ms=%lu\n", cfg.disk_sectors, (u32)cfg.disk_dma,
            (u32)ext, (u32)cfg.disk_drive, cfg.disk_lba, (ticks() - t_start) * 1000 / hz);
}

void disk_run(void)
{
    int ext;
    u32 count;
    if (disk_setup(cfg.disk_dma) || region(&ext, &count))
        return;
    ready = 1;
    t_start = ticks();
    if (cfg.disk_write) {
        for (u64 lba = cfg.disk_lba; lba < cfg.disk_lba + cfg.disk_sectors; lba += count) {
            u32 n = cfg.disk_lba + cfg.disk_sectors - lba < count ? (u32)(cfg.disk_lba + cfg.disk_sectors - lba) : count;
            pattern_fill(ata.wbuf, lba, n);
            if (xfer(1, lba, n, ata.wbuf, ext))
                return;
        }
        if (flush(ext))
            return;
    }
    read_back(ext, count);
}

/* Serial command diskcheck: reads the region again and compares (after a migration, say). */
void disk_check(void)
{
    int ext;
    u32 count;
    if (!ready) {
        kprintf("DISK ERROR not-ready\n");
        return;
    }
    t_start = ticks();
    if (!region(&ext, &count))
        read_back(ext, count);
}

/* Where a bad PRD points: past the RAM and reserved areas below 4 GiB. */
static u64 outside_ram(void)
{
    u64 a = 1UL << 20;
    for (int changed = 1; changed;) {       /* the first 64 KiB block above 1 MiB no e820 entry covers */
        changed = 0;
        for (int i = 0; i < e820_n; i++)
            if (e820[i].addr < a + 0x10000 && a < e820[i].addr + e820[i].size) {
                a = (e820[i].addr + e820[i].size + 0xFFFF) & ~0xFFFFUL;
                changed = 1;
            }
    }
    return a >= 0xFFFF0000UL ? 0xFFFF0000UL : a;
}

void disk_bad(void)
{
    if (disk_setup(1))
        return;
    u64 bad = outside_ram();
    for (int write = 0; write <= 1; write++) {
        u8 bs, st = dma_raw(write, cfg.disk_lba, 8, bad, 8 * 512, 0, &bs);
        kprintf("DISK BADPRD dir=%s addr=0x%lx bm=0x%02x status=0x%02x error=0x%02x\n", write ? "write" : "read",
                bad, bs, st, inb(ata.cmd + 1));
        if (st & (ST_BSY | ST_DRQ))
            channel_reset();
    }
    /* one sector past the end: the EXT form when the drive has it, so that the LBA fits */
    u64 lba = ata.total;
    int ext = ata.have48 || lba >= (1UL << 28);
    u8 command = ext ? CMD_READ_SECTORS_EXT : CMD_READ_SECTORS;
    issue(command, lba, 1, ext);
    u8 st = wait_idle();
    kprintf("DISK BADLBA dma=0 lba=%lu status=0x%02x error=0x%02x\n", lba, st, inb(ata.cmd + 1));
    if (st & ST_DRQ) {                      /* the drive took it: drain the sector */
        insw(ata.cmd, ata.rbuf, 256);
        st = wait_idle();
    }
    if (st & ST_BSY)
        channel_reset();
    u8 bs;
    st = dma_raw(0, lba, 1, (u64)ata.rbuf, 512, ext, &bs);
    kprintf("DISK BADLBA dma=1 lba=%lu bm=0x%02x status=0x%02x error=0x%02x\n", lba, bs, st, inb(ata.cmd + 1));
    if (st & (ST_BSY | ST_DRQ))
        channel_reset();
    kprintf("DISK SURVIVED\n");
}
