/* virtio-pci driver core (virtio 1.2 §4.1) and split virtqueues (§2.7), at CPL 3, polled. */
#ifndef VIRTIO_H
#define VIRTIO_H
#include "kernel.h"

/* device status (§2.1) */
#define VIRTIO_ACKNOWLEDGE      1
#define VIRTIO_DRIVER           2
#define VIRTIO_DRIVER_OK        4
#define VIRTIO_FEATURES_OK      8
#define VIRTIO_NEEDS_RESET      0x40
#define VIRTIO_FAILED           0x80
/* reserved feature bits (§6) */
#define VIRTIO_F_INDIRECT_DESC  28
#define VIRTIO_F_EVENT_IDX      29
#define VIRTIO_F_VERSION_1      32
/* device types (§5) */
#define VIRTIO_ID_NET           1
#define VIRTIO_ID_BLOCK         2

struct vring_desc { u64 addr; u32 len; u16 flags, next; };
#define VRING_DESC_F_NEXT       1
#define VRING_DESC_F_WRITE      2
#define VRING_DESC_F_INDIRECT   4
struct vring_used_elem { u32 id, len; };

struct vq {
    u16 index, size;
    struct vring_desc *desc;
    volatile u16 *avail;            /* flags, idx, ring[size], used_event */
    volatile u8 *used;              /* flags, idx, ring[size] (8 bytes each), avail_event */
    u16 avail_idx;                  /* next free avail->idx, ours */
    u16 last_used;                  /* used->idx seen so far */
    u16 kicked;                     /* avail_idx at the last notify */
    u64 notify;                     /* MMIO address, or the legacy port */
};

struct vdev {
    u32 bdf;
    u16 pci_id;
    int legacy;
    u64 common, notify, isr, devcfg; /* modern: MMIO addresses of the capability structures */
    u32 notify_mult;
    u16 io;                         /* legacy: BAR0 port base */
    u64 features;                   /* negotiated */
    int msix;                       /* queues signal MSI-X vector 0 (irq=msix, modern only) */
};

static inline int vio_has(const struct vdev *d, int bit) { return (d->features >> bit) & 1; }

/* Finds the nth device of `type` on bus 0 (modern or transitional ID) and maps its structures.
 * transport=legacy selects the I/O interface.  0, or -1 with a VIRTIO ERROR line printed. */
int vio_find(struct vdev *d, u32 type, u32 nth, const char *tag);
/* Reset, ACKNOWLEDGE | DRIVER, features (wanted & offered, less features= refusals; VERSION_1
 * required on the modern transport), FEATURES_OK.  0 or -1 (printed). */
int vio_negotiate(struct vdev *d, u64 wanted, const char *tag);
/* Sets up queue `index` with at most `max` entries (fewer if the device says so). */
int vio_queue(struct vdev *d, struct vq *q, u16 index, u16 max, const char *tag);
void vio_driver_ok(struct vdev *d);
u8 vio_status(struct vdev *d);
/* Device configuration space; reads of more than 4 bytes retry over config_generation. */
u8 vio_cfg8(struct vdev *d, u32 off);
u16 vio_cfg16(struct vdev *d, u32 off);
u32 vio_cfg32(struct vdev *d, u32 off);
u64 vio_cfg64(struct vdev *d, u32 off);
/* Prints "VIRTIO NEEDS_RESET ..." once if the device set DEVICE_NEEDS_RESET; returns 1 if so. */
int vio_check_reset(struct vdev *d, const char *tag);

/* Puts the chain starting at desc[head] in the avail ring (no notification yet). */
void vq_push(struct vq *q, u16 head);
/* Notifies the device of what was pushed since the last kick, unless it asked not to be. */
void vq_kick(struct vdev *d, struct vq *q);
/* Takes the next used element: 1 with its id and len, or 0 if none. */
int vq_pop(struct vq *q, u32 *id, u32 *len);

/* Bump allocator over RAM above the kernel (zeroed, aligned). NULL if RAM ends. */
void *vio_alloc(u64 bytes, u64 align);

#endif
