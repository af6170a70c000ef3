/*
 * virtio-pci transport at CPL 3: the modern interface through the vendor capabilities
 * (virtio 1.2 §4.1.4) and, for transport=legacy, the I/O BAR0 interface of a transitional
 * device (§4.1.4.8).  Split virtqueues in testos's RAM (identity mapped, so a virtual
 * address is the physical address the device sees), completion by polling the used ring;
 * no interrupts are enabled (no MSI-X vectors, INTx stays masked at the APIC).
 */
#include "virtio.h"

/* common configuration structure (§4.1.4.3) */
#define CC_DFSELECT     0
#define CC_DF           4
#define CC_GFSELECT     8
#define CC_GF           12
#define CC_MSIX         16
#define CC_NUMQ         18
#define CC_STATUS       20
#define CC_GENERATION   21
#define CC_QSELECT      22
#define CC_QSIZE        24
#define CC_QMSIX        26
#define CC_QENABLE      28
#define CC_QNOTIFYOFF   30
#define CC_QDESC        32
#define CC_QDRIVER      40
#define CC_QDEVICE      48
/* legacy I/O registers (§4.1.4.8), device configuration at 20 while MSI-X is off */
#define LG_HOSTF        0
#define LG_GUESTF       4
#define LG_QPFN         8
#define LG_QSIZE        12
#define LG_QSELECT      14
#define LG_QNOTIFY      16
#define LG_STATUS       18
#define LG_CONFIG       20
/* capability cfg_type (§4.1.4) */
#define CAP_COMMON      1
#define CAP_NOTIFY      2
#define CAP_ISR         3
#define CAP_DEVICE      4

#define VIRTIO_NO_VECTOR 0xFFFF

static u64 heap;            /* vio_alloc's next free byte, 0 until first use */

void *vio_alloc(u64 bytes, u64 align)
{
    if (!heap)
        heap = ((u64)_end + 0x1FFFFF) & ~0x1FFFFFUL;
    u64 a = (heap + align - 1) & ~(align - 1);
    if (!ram_covers(a, bytes))
        return NULL;
    heap = a + bytes;
    memset((void *)a, 0, bytes);
    return (void *)a;
}

/* ---- finding the device ---- */

/* The virtio device type of a 1af4 function, or 0 (§4.1.2.1). */
static u32 device_type(u32 bdf, int *transitional)
{
    u32 id = pci_read(bdf, 0);
    if ((id & 0xFFFF) != 0x1AF4)
        return 0;
    u32 dev = id >> 16;
    *transitional = dev >= 0x1000 && dev <= 0x103F;
    if (*transitional)
        return pci_read(bdf, 0x2C) >> 16;     /* subsystem device ID */
    return dev >= 0x1040 && dev <= 0x107F ? dev - 0x1040 : 0;
}

/* Memory address of BAR `bar` (64-bit BARs take two slots), 0 if unassigned or I/O. */
static u64 bar_address(u32 bdf, u32 bar)
{
    if (bar > 5)
        return 0;
    u32 lo = pci_read(bdf, 0x10 + 4 * bar);
    if (lo & 1)
        return 0;
    u64 a = lo & ~0xFUL;
    if (((lo >> 1) & 3) == 2 && bar < 5)
        a |= (u64)pci_read(bdf, 0x14 + 4 * bar) << 32;
    return a;
}

/* MSI-X entry 0 to the BSP's LAPIC at VEC_MSI, then MSI-X on (PCI 3.0 §6.8.2). 0, or -1 printed. */
static int msix_setup(struct vdev *d, u32 cap, const char *tag)
{
    u32 table = pci_read(d->bdf, cap + 4);
    u64 base = bar_address(d->bdf, table & 7);
    if (!base || map_mmio(base + (table & ~7u), 16)) {
        kprintf("VIRTIO ERROR %s msix-table bar=%u unmapped\n", tag, table & 7);
        return -1;
    }
    u64 e = base + (table & ~7u);
    mmio_w32(e, LAPIC_BASE);                /* destination APIC ID 0, physical */
    mmio_w32(e + 4, 0);
    mmio_w32(e + 8, VEC_MSI);               /* fixed, edge */
    mmio_w32(e + 12, 0);                    /* unmasked */
    pci_write16(d->bdf, cap + 2, (pci_read16(d->bdf, cap + 2) & ~0x4000) | 0x8000);
    d->msix = 1;
    return 0;
}

static int map_caps(struct vdev *d, const char *tag)
{
    if (!(pci_read16(d->bdf, 6) & 0x10)) {
        kprintf("VIRTIO ERROR %s no-capabilities\n", tag);
        return -1;
    }
    u32 p = pci_read8(d->bdf, 0x34) & 0xFC;
    for (int guard = 0; p && guard < 48; guard++, p = pci_read8(d->bdf, p + 1) & 0xFC) {
        if (pci_read8(d->bdf, p) == 0x11 && cfg.vio_msix && !d->msix && msix_setup(d, p, tag))
            return -1;
        if (pci_read8(d->bdf, p) != 0x09)     /* vendor-specific */
            continue;
        u8 type = pci_read8(d->bdf, p + 3), bar = pci_read8(d->bdf, p + 4);
        u32 off = pci_read(d->bdf, p + 8), len = pci_read(d->bdf, p + 12);
        u64 *slot = type == CAP_COMMON ? &d->common : type == CAP_NOTIFY ? &d->notify
                  : type == CAP_ISR ? &d->isr : type == CAP_DEVICE ? &d->devcfg : NULL;
        if (!slot || *slot)                    /* the first of each type is the preferred one */
            continue;
        u64 base = bar_address(d->bdf, bar);
        if (!base) {
            kprintf("VIRTIO ERROR %s bar=%u unassigned-or-io cap-type=%u\n", tag, (u32)bar, (u32)type);
            return -1;
        }
        if (map_mmio(base + off, len)) {
            kprintf("VIRTIO ERROR %s cannot-map addr=0x%lx\n", tag, base + off);
            return -1;
        }
        *slot = base + off;
        if (type == CAP_NOTIFY)
            d->notify_mult = pci_read(d->bdf, p + 16);
    }
    if (cfg.vio_msix && !d->msix) {
        kprintf("VIRTIO ERROR %s no-msix-capability\n", tag);
        return -1;
    }
    if (!d->common || !d->notify || !d->isr) {
        kprintf("VIRTIO ERROR %s missing-capability common=%u notify=%u isr=%u\n", tag,
                (u32)!!d->common, (u32)!!d->notify, (u32)!!d->isr);
        return -1;
    }
    return 0;
}

struct wanted { u32 type, nth, seen; int transitional; };

static int is_wanted(u32 bdf, void *arg)
{
    struct wanted *w = arg;
    return device_type(bdf, &w->transitional) == w->type && w->seen++ == w->nth;
}

int vio_find(struct vdev *d, u32 type, u32 nth, const char *tag)
{
    memset(d, 0, sizeof *d);
    struct wanted w = { type, nth, 0, 0 };
    u32 found = pci_scan(is_wanted, &w);
    int transitional = w.transitional;
    d->bdf = found & 0x00FFFF00u;
    if (!found) {
        kprintf("VIRTIO ERROR %s no-device type=%u dev=%u found=%u\n", tag, type, nth, w.seen);
        return -1;
    }
    d->pci_id = (u16)(pci_read(d->bdf, 0) >> 16);
    u16 command = (u16)pci_read(d->bdf, 4);
    pci_write16(d->bdf, 4, command | 0x7);     /* I/O, memory, bus master */
    d->legacy = cfg.vio_legacy;
    if (d->legacy) {
        u32 bar0 = pci_read(d->bdf, 0x10);
        if (!transitional || !(bar0 & 1) || !(bar0 & 0xFFFC)) {
            kprintf("VIRTIO ERROR %s no-legacy-interface id=1af4:%04x bar0=0x%x\n", tag, (u32)d->pci_id, bar0);
            return -1;
        }
        d->io = (u16)(bar0 & 0xFFFC);
        return 0;
    }
    return map_caps(d, tag);
}

/* ---- status and features ---- */

u8 vio_status(struct vdev *d)
{
    return d->legacy ? inb(d->io + LG_STATUS) : mmio_r8(d->common + CC_STATUS);
}

static void set_status(struct vdev *d, u8 s)
{
    if (d->legacy)
        outb(d->io + LG_STATUS, s);
    else
        mmio_w8(d->common + CC_STATUS, s);
}

int vio_check_reset(struct vdev *d, const char *tag)
{
    static int printed;
    u8 s = vio_status(d);
    if (!(s & VIRTIO_NEEDS_RESET))
        return 0;
    if (!printed++)
        kprintf("VIRTIO NEEDS_RESET %s status=0x%02x\n", tag, (u32)s);
    return 1;
}

static u64 device_features(struct vdev *d)
{
    if (d->legacy)
        return inl(d->io + LG_HOSTF);
    mmio_w32(d->common + CC_DFSELECT, 0);
    u64 lo = mmio_r32(d->common + CC_DF);
    mmio_w32(d->common + CC_DFSELECT, 1);
    return lo | (u64)mmio_r32(d->common + CC_DF) << 32;
}

static void driver_features(struct vdev *d, u64 f)
{
    if (d->legacy) {
        outl(d->io + LG_GUESTF, (u32)f);
        return;
    }
    mmio_w32(d->common + CC_GFSELECT, 0);
    mmio_w32(d->common + CC_GF, (u32)f);
    mmio_w32(d->common + CC_GFSELECT, 1);
    mmio_w32(d->common + CC_GF, (u32)(f >> 32));
}

int vio_negotiate(struct vdev *d, u64 wanted, const char *tag)
{
    set_status(d, 0);                                   /* reset (§4.1.4.3.2: wait for 0) */
    u64 t0 = ticks();
    while (vio_status(d) != 0) {
        if (ticks() - t0 > 5 * (u64)hz) {
            kprintf("VIRTIO ERROR %s reset-timeout status=0x%02x\n", tag, (u32)vio_status(d));
            return -1;
        }
        pause();
    }
    set_status(d, VIRTIO_ACKNOWLEDGE);
    set_status(d, VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER);
    u64 offered = device_features(d);
    if (d->legacy)
        wanted &= 0xFFFFFFFFUL & ~(1UL << VIRTIO_F_VERSION_1);
    else
        wanted |= 1UL << VIRTIO_F_VERSION_1;
    d->features = offered & wanted & ~cfg.vio_nofeat;
    if (!d->legacy && !vio_has(d, VIRTIO_F_VERSION_1)) {
        kprintf("VIRTIO ERROR %s no-version-1 offered=0x%lx\n", tag, offered);
        set_status(d, VIRTIO_FAILED);
        return -1;
    }
    driver_features(d, d->features);
    if (!d->legacy) {                                   /* legacy has no FEATURES_OK */
        set_status(d, VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER | VIRTIO_FEATURES_OK);
        if (!(vio_status(d) & VIRTIO_FEATURES_OK)) {
            kprintf("VIRTIO ERROR %s features-not-ok offered=0x%lx driver=0x%lx\n", tag, offered, d->features);
            set_status(d, VIRTIO_FAILED);
            return -1;
        }
        mmio_w16(d->common + CC_MSIX, VIRTIO_NO_VECTOR);
    }
    kprintf("VIRTIO DEV %s pci=%02x:%02x.%u id=1af4:%04x transport=%s offered=0x%lx features=0x%lx regs=0x%lx\n", tag,
            (d->bdf >> 16) & 0xFF, (d->bdf >> 11) & 0x1F, (d->bdf >> 8) & 7, (u32)d->pci_id,
            d->legacy ? "legacy" : "modern", offered, d->features, d->legacy ? (u64)d->io : d->common);
    return 0;
}

void vio_driver_ok(struct vdev *d)
{
    set_status(d, VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER | (d->legacy ? 0 : VIRTIO_FEATURES_OK) | VIRTIO_DRIVER_OK);
}

/* ---- device configuration ---- */

static u8 generation(struct vdev *d)
{
    return d->legacy ? 0 : mmio_r8(d->common + CC_GENERATION);
}

u8 vio_cfg8(struct vdev *d, u32 off)
{
    return d->legacy ? inb(d->io + LG_CONFIG + off) : mmio_r8(d->devcfg + off);
}

u16 vio_cfg16(struct vdev *d, u32 off)
{
    return d->legacy ? inw(d->io + LG_CONFIG + off) : mmio_r16(d->devcfg + off);
}

u32 vio_cfg32(struct vdev *d, u32 off)
{
    return d->legacy ? inl(d->io + LG_CONFIG + off) : mmio_r32(d->devcfg + off);
}

u64 vio_cfg64(struct vdev *d, u32 off)
{
    u8 g;
    u64 v;
    do {
        g = generation(d);
        v = vio_cfg32(d, off) | (u64)vio_cfg32(d, off + 4) << 32;
    } while (g != generation(d));
    return v;
}

/* ---- virtqueues ---- */

/* The legacy layout (§2.7, "Legacy Interfaces"): descriptors, avail ring, then the used ring
 * on the next 4 KiB boundary.  The modern interface takes the same addresses. */
static u64 ring_bytes(u16 size, u64 *used_off)
{
    *used_off = (16UL * size + 6 + 2UL * size + 4095) & ~4095UL;
    return *used_off + 6 + 8UL * size;
}

int vio_queue(struct vdev *d, struct vq *q, u16 index, u16 max, const char *tag)
{
    memset(q, 0, sizeof *q);
    u16 size;
    if (d->legacy) {
        outw(d->io + LG_QSELECT, index);
        size = inw(d->io + LG_QSIZE);       /* fixed by the device */
    } else {
        mmio_w16(d->common + CC_QSELECT, index);
        size = mmio_r16(d->common + CC_QSIZE);
        if (size > max)
            size = max;
    }
    if (size == 0 || (size & (size - 1))) {
        kprintf("VIRTIO ERROR %s queue=%u size=%u\n", tag, (u32)index, (u32)size);
        return -1;
    }
    u64 used_off, bytes = ring_bytes(size, &used_off);
    u8 *mem = vio_alloc(bytes, 4096);
    if (!mem) {
        kprintf("VIRTIO ERROR %s queue=%u no-memory\n", tag, (u32)index);
        return -1;
    }
    q->index = index;
    q->size = size;
    q->desc = (struct vring_desc *)mem;
    q->avail = (volatile u16 *)(mem + 16UL * size);
    q->used = mem + used_off;
    if (!vio_has(d, VIRTIO_F_EVENT_IDX) && !d->msix)
        q->avail[0] = 1;                    /* VIRTQ_AVAIL_F_NO_INTERRUPT: we poll */
    if (d->legacy) {
        outl(d->io + LG_QPFN, (u32)((u64)mem >> 12));
        q->notify = d->io + LG_QNOTIFY;
        return 0;
    }
    mmio_w16(d->common + CC_QSIZE, size);
    mmio_w16(d->common + CC_QMSIX, d->msix ? 0 : VIRTIO_NO_VECTOR);
    if (d->msix && mmio_r16(d->common + CC_QMSIX) != 0) {   /* §4.1.5.1.2: NO_VECTOR = refused */
        kprintf("VIRTIO ERROR %s queue=%u msix-vector-refused\n", tag, (u32)index);
        return -1;
    }
    u64 desc = (u64)q->desc, drv = (u64)q->avail, dev = (u64)q->used;
    mmio_w32(d->common + CC_QDESC, (u32)desc);
    mmio_w32(d->common + CC_QDESC + 4, (u32)(desc >> 32));
    mmio_w32(d->common + CC_QDRIVER, (u32)drv);
    mmio_w32(d->common + CC_QDRIVER + 4, (u32)(drv >> 32));
    mmio_w32(d->common + CC_QDEVICE, (u32)dev);
    mmio_w32(d->common + CC_QDEVICE + 4, (u32)(dev >> 32));
    q->notify = d->notify + (u64)mmio_r16(d->common + CC_QNOTIFYOFF) * d->notify_mult;
    mmio_w16(d->common + CC_QENABLE, 1);
    return 0;
}

void vq_push(struct vq *q, u16 head)
{
    q->avail[2 + (q->avail_idx & (q->size - 1))] = head;
    q->avail_idx++;
}

void vq_kick(struct vdev *d, struct vq *q)
{
    u16 new = q->avail_idx, old = q->kicked;
    if (new == old)
        return;
    barrier();
    q->avail[1] = new;                      /* the ring entries are visible before the index */
    mb();                                   /* ... and the index before we read the device's wish */
    q->kicked = new;
    int need;
    if (vio_has(d, VIRTIO_F_EVENT_IDX)) {
        u16 event = *(volatile u16 *)(q->used + 4 + 8UL * q->size);   /* avail_event */
        need = (u16)(new - event - 1) < (u16)(new - old);
    } else {
        need = !(*(volatile u16 *)q->used & 1);                     /* VIRTQ_USED_F_NO_NOTIFY */
    }
    if (!need)
        return;
    if (d->legacy)
        outw((u16)q->notify, q->index);
    else
        mmio_w16(q->notify, q->index);
}

int vq_pop(struct vq *q, u32 *id, u32 *len)
{
    u16 idx = *(volatile u16 *)(q->used + 2);
    if (idx == q->last_used)
        return 0;
    barrier();                              /* the element is read after the index (x86 keeps load order) */
    const volatile struct vring_used_elem *e =
        (const volatile struct vring_used_elem *)(q->used + 4 + 8UL * (q->last_used & (q->size - 1)));
    *id = e->id;
    *len = e->len;
    q->last_used++;
    q->avail[2 + q->size] = q->last_used;   /* used_event (read only with EVENT_IDX) */
    return 1;
}
