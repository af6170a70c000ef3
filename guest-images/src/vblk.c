/*
 * mode=vblk: a virtio-blk driver (virtio 1.2 §5.2) on virtio.c.  It writes the disk mode's
 * pattern (disk_pattern: a function of the LBA, the word and the seed only) over the region,
 * reads it back and compares, with `depth` requests in flight, in sequential or random block
 * order; op=read and op=write are the pure benchmarks.  Same keys, same disk contents, on
 * every VMM and through IDE (mode=disk) as through virtio-blk.
 */
#include "virtio.h"

#define VIRTIO_BLK_F_RO         5
#define VIRTIO_BLK_F_BLK_SIZE   6
#define VIRTIO_BLK_F_FLUSH      9
#define VIRTIO_BLK_T_IN         0
#define VIRTIO_BLK_T_OUT        1
#define VIRTIO_BLK_T_FLUSH      4
#define VIRTIO_BLK_T_GET_ID     8
#define VIRTIO_BLK_S_OK         0
#define VIRTIO_BLK_ID_BYTES     20

#define MAX_DEPTH 256
#define QUEUE_MAX 256
#define TAG "vblk"

struct req_hdr { u32 type, reserved; u64 sector; };

static struct vdev dev;
static struct vq q;
static int indirect;
static u32 depth;
static struct req_hdr *hdrs;            /* per slot, device-readable */
static volatile u8 *status;             /* per slot, device-writable */
static struct vring_desc *tables;       /* per slot: 3 indirect descriptors */
static u8 *bufs;                        /* per slot: bs bytes */
static u64 bs;
static u64 slot_lba[MAX_DEPTH];
static u32 slot_n[MAX_DEPTH];
static u32 free_slots[MAX_DEPTH], nfree;

static u8 *slot_buf(u32 s) { return bufs + s * bs; }

/* Queues one request on slot s: header, an optional data buffer, the status byte. */
static void submit(u32 s, u32 type, u64 sector, void *data, u32 len)
{
    hdrs[s] = (struct req_hdr){ type, 0, sector };
    status[s] = 0xFF;                   /* a request the device never completed must not pass */
    int to_mem = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    struct vring_desc *t = indirect ? &tables[3 * s] : &q.desc[3 * s];
    u16 base = indirect ? 0 : (u16)(3 * s), n = 0;
    t[n] = (struct vring_desc){ (u64)&hdrs[s], sizeof hdrs[s], VRING_DESC_F_NEXT, (u16)(base + 1) };
    n++;
    if (len) {
        t[n] = (struct vring_desc){ (u64)data, len, (u16)(VRING_DESC_F_NEXT | (to_mem ? VRING_DESC_F_WRITE : 0)),
                                   (u16)(base + n + 1) };
        n++;
    }
    t[n] = (struct vring_desc){ (u64)&status[s], 1, VRING_DESC_F_WRITE, 0 };
    n++;
    if (indirect)
        q.desc[s] = (struct vring_desc){ (u64)t, n * (u32)sizeof *t, VRING_DESC_F_INDIRECT, 0 };
    vq_push(&q, (u16)(indirect ? s : 3 * s));
}

/* Waits for one completion: its slot, or -1 after 10 s without one (printed). */
static int complete(void)
{
    u64 t0 = ticks();
    u32 id, len;
    while (!vq_pop(&q, &id, &len)) {
        if (ticks() - t0 > 10 * (u64)hz) {
            vio_check_reset(&dev, TAG);
            kprintf("VBLK FAIL timeout in-flight=%u status=0x%02x\n", depth - nfree, (u32)vio_status(&dev));
            return -1;
        }
        pause();
    }
    u32 s = indirect ? id : id / 3;
    if (s >= depth || (!indirect && id % 3)) {
        kprintf("VBLK FAIL bad-used-id id=%u\n", id);
        return -1;
    }
    return (int)s;
}

/* One request synchronously (GET_ID, FLUSH): the status byte, or -1. */
static int sync_request(u32 type, void *data, u32 len)
{
    u32 s = free_slots[--nfree];
    submit(s, type, 0, data, len);
    vq_kick(&dev, &q);
    int c = complete();
    free_slots[nfree++] = s;
    return c < 0 ? -1 : status[c];
}

/* ---- the region ---- */

static u64 nblocks, perm_a, perm_c;

static u64 gcd(u64 a, u64 b) { while (b) { u64 t = a % b; a = b; b = t; } return a; }

/* Block of the i-th request: a fixed permutation of the blocks for pattern=rand. */
static u64 block_of(u64 i)
{
    i %= nblocks;
    return cfg.vblk_rand ? (perm_a * i + perm_c) % nblocks : i;
}

/* ---- timing: the TSC, calibrated against the LAPIC timer (ticks are 10 ms: too coarse) ---- */

static u64 tsc_per_ms;

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return lo | (u64)hi << 32;
}

static void calibrate_tsc(void)
{
    u64 t = ticks();
    while (ticks() == t)
        pause();
    u64 c0 = rdtsc(), t0 = ticks();
    while (ticks() < t0 + 5)
        pause();
    tsc_per_ms = (rdtsc() - c0) * hz / 5 / 1000;
    if (!tsc_per_ms)
        tsc_per_ms = 1;
}

static u64 us_since(u64 c0) { return (rdtsc() - c0) * 1000 / tsc_per_ms; }

struct figures { u64 ios, bytes, us; };

static void print_figures(const char *what, const struct figures *f)
{
    u64 us = f->us ? f->us : 1;
    kprintf("VBLK %s ios=%lu bytes=%lu ms=%lu MBps=%lu iops=%lu\n", what, f->ios, f->bytes, f->us / 1000,
            f->bytes / us, f->ios * 1000000 / us);
}

/* `ios` requests over the region's blocks, `depth` at a time.  0 or -1 (printed). */
static int run_phase(int write, int verify, u64 ios, struct figures *f)
{
    u64 c0 = rdtsc(), next = 0, done = 0;
    f->ios = ios;
    f->bytes = 0;
    while (done < ios) {
        while (nfree && next < ios) {
            u32 s = free_slots[--nfree];
            u64 b = block_of(next++), lba = cfg.disk_lba + b * cfg.disk_count;
            u64 left = cfg.disk_lba + cfg.disk_sectors - lba;
            u32 n = left < cfg.disk_count ? (u32)left : (u32)cfg.disk_count;
            slot_lba[s] = lba;
            slot_n[s] = n;
            if (write)
                pattern_fill(slot_buf(s), lba, n);
            else if (verify)
                memset(slot_buf(s), 0xA5, n * 512UL);   /* a read that moves nothing must not pass */
            submit(s, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, lba, slot_buf(s), n * 512);
        }
        vq_kick(&dev, &q);
        int s = complete();
        if (s < 0)
            return -1;
        do {
            if (status[s] != VIRTIO_BLK_S_OK) {
                kprintf("VBLK FAIL status=%u op=%s lba=%lu sectors=%u\n", (u32)status[s], write ? "write" : "read",
                        slot_lba[s], slot_n[s]);
                return -1;
            }
            if (!write && verify && pattern_check("VBLK", slot_buf(s), slot_lba[s], slot_n[s]))
                return -1;
            f->bytes += slot_n[s] * 512UL;
            free_slots[nfree++] = (u32)s;
            done++;
            u32 id, len;
            if (!vq_pop(&q, &id, &len))
                break;
            s = (int)(indirect ? id : id / 3);
            if ((u32)s >= depth) {
                kprintf("VBLK FAIL bad-used-id id=%u\n", id);
                return -1;
            }
        } while (1);
    }
    f->us = us_since(c0);
    return 0;
}

static int setup(void)
{
    if (vio_find(&dev, VIRTIO_ID_BLOCK, (u32)cfg.vio_dev, TAG) ||
        vio_negotiate(&dev, 1UL << VIRTIO_BLK_F_RO | 1UL << VIRTIO_BLK_F_BLK_SIZE | 1UL << VIRTIO_BLK_F_FLUSH |
                            1UL << VIRTIO_F_INDIRECT_DESC | 1UL << VIRTIO_F_EVENT_IDX, TAG) ||
        vio_queue(&dev, &q, 0, QUEUE_MAX, TAG))
        return -1;
    indirect = vio_has(&dev, VIRTIO_F_INDIRECT_DESC);
    u32 cap = indirect ? q.size : q.size / 3;
    depth = cfg.vblk_depth < 1 ? 1 : cfg.vblk_depth > cap ? cap : (u32)cfg.vblk_depth;
    if (depth > MAX_DEPTH)
        depth = MAX_DEPTH;
    bs = cfg.disk_count * 512;
    hdrs = vio_alloc(depth * sizeof *hdrs, 64);
    status = vio_alloc(depth, 64);
    tables = vio_alloc(3UL * depth * sizeof *tables, 64);
    bufs = vio_alloc(depth * bs, 4096);
    if (!hdrs || !status || !tables || !bufs) {
        kprintf("VBLK ERROR no-memory depth=%u bs=%lu\n", depth, bs);
        return -1;
    }
    for (u32 s = 0; s < depth; s++)
        free_slots[nfree++] = depth - 1 - s;
    vio_driver_ok(&dev);
    if (vio_check_reset(&dev, TAG))
        return -1;
    return 0;
}

void vblk_run(void)
{
    if (cfg.vblk_bs)
        cfg.disk_count = cfg.vblk_bs / 512;
    if (!cfg.disk_count || cfg.disk_count > 8192) {
        kprintf("VBLK ERROR bad-block-size count=%lu (1..8192 sectors)\n", cfg.disk_count);
        return;
    }
    if (setup())
        return;
    u64 capacity = vio_cfg64(&dev, 0);
    u32 blk_size = vio_has(&dev, VIRTIO_BLK_F_BLK_SIZE) ? vio_cfg32(&dev, 20) : 512;
    char id[VIRTIO_BLK_ID_BYTES + 1], *idbuf = vio_alloc(VIRTIO_BLK_ID_BYTES, 64);
    int st = idbuf ? sync_request(VIRTIO_BLK_T_GET_ID, idbuf, VIRTIO_BLK_ID_BYTES) : -1;
    u32 k = 0;
    for (; st == VIRTIO_BLK_S_OK && k < VIRTIO_BLK_ID_BYTES && idbuf[k]; k++)
        id[k] = idbuf[k] > ' ' && idbuf[k] < 127 ? idbuf[k] : '_';
    id[k] = 0;
    kprintf("VBLK DEV capacity=%lu serial=%s blk_size=%u queue=%u depth=%u indirect=%u event_idx=%u ro=%u flush=%u\n",
            capacity, k ? id : st == VIRTIO_BLK_S_OK ? "-" : "unsupported", blk_size, (u32)q.size, depth,
            (u32)indirect, (u32)vio_has(&dev, VIRTIO_F_EVENT_IDX), (u32)vio_has(&dev, VIRTIO_BLK_F_RO),
            (u32)vio_has(&dev, VIRTIO_BLK_F_FLUSH));
    if (st < 0)
        return;

    u64 end = cfg.disk_lba + cfg.disk_sectors;
    if (!cfg.disk_sectors || end > capacity || end < cfg.disk_lba) {
        kprintf("VBLK ERROR region lba=%lu sectors=%lu capacity=%lu\n", cfg.disk_lba, cfg.disk_sectors, capacity);
        return;
    }
    int writes = cfg.vblk_op == VBLK_WRITE || (cfg.vblk_op == VBLK_VERIFY && cfg.disk_write);
    if (writes && vio_has(&dev, VIRTIO_BLK_F_RO)) {
        kprintf("VBLK ERROR read-only\n");
        return;
    }
    nblocks = (cfg.disk_sectors + cfg.disk_count - 1) / cfg.disk_count;
    perm_a = 0x9E3779B1UL % nblocks;
    while (perm_a == 0 || gcd(perm_a, nblocks) != 1)
        perm_a++;
    perm_c = cfg.disk_seed % nblocks;
    u64 ios = cfg.vblk_op == VBLK_READ && cfg.vblk_ios ? cfg.vblk_ios : nblocks;

    struct figures w = { 0, 0, 0 }, r = { 0, 0, 0 };
    calibrate_tsc();
    u64 c0 = rdtsc();
    if (writes) {
        if (run_phase(1, 0, nblocks, &w))
            return;
        if (vio_has(&dev, VIRTIO_BLK_F_FLUSH)) {
            int fs = sync_request(VIRTIO_BLK_T_FLUSH, NULL, 0);
            if (fs != VIRTIO_BLK_S_OK) {
                if (fs >= 0)
                    kprintf("VBLK FAIL status=%u op=flush\n", (u32)fs);
                return;
            }
        }
        w.us = us_since(c0);
        print_figures("WRITE", &w);
    }
    if (cfg.vblk_op != VBLK_WRITE) {
        if (run_phase(0, cfg.vblk_op == VBLK_VERIFY, ios, &r))
            return;
        print_figures("READ", &r);
    }
    struct figures all = cfg.vblk_op == VBLK_READ ? r : cfg.vblk_op == VBLK_WRITE ? w
                       : (struct figures){ w.ios + r.ios, w.bytes + r.bytes, us_since(c0) };
    u64 us = all.us ? all.us : 1;
    if (vio_check_reset(&dev, TAG))
        return;
    kprintf("VBLK OK op=%s dev=%lu lba=%lu sectors=%lu bs=%lu depth=%u pattern=%s seed=%lu ms=%lu MBps=%lu iops=%lu\n",
            cfg.vblk_op == VBLK_READ ? "read" : cfg.vblk_op == VBLK_WRITE ? "write" : writes ? "verify" : "check",
            cfg.vio_dev, cfg.disk_lba, cfg.disk_sectors, bs, depth, cfg.vblk_rand ? "rand" : "seq", cfg.disk_seed,
            all.us / 1000, all.bytes / us, all.ios * 1000000 / us);
}
