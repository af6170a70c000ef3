/* Constants shared by the assembly and C parts of testos. */
#ifndef CONFIG_H
#define CONFIG_H

#define MAXCPU          64
#define KSTACK_SHIFT    13              /* 8 KiB CPL 0 stack per CPU (tiny handlers only) */
#define KSTACK_SIZE     (1 << KSTACK_SHIFT)
#define USTACK_SIZE     (16 * 1024)     /* CPL 3 stack per CPU */

#define TRAMPOLINE      0x8000          /* AP real-mode start: SIPI vector 0x08 */

/* GDT selectors.  0x10/0x18 match Linux's __BOOT_CS/__BOOT_DS of the 64-bit boot protocol,
 * so the CS a loader gave us stays valid after we load our own GDT. */
#define KCODE32         0x08
#define KCODE64         0x10
#define KDATA           0x18
#define UDATA           0x20
#define UCODE64         0x28
#define TSS_SEL0        0x30            /* 16-byte TSS descriptors, one per CPU */

#define VEC_PIC_BASE    0x20            /* legacy PIC remapped here (and masked) */
#define VEC_TIMER       0x40            /* LAPIC timer */
#define VEC_MSI         0x50            /* virtio MSI-X (irq=msix): counted, wakes the idle CPU */
#define VEC_SPURIOUS    0xFF

#define BOOT_PVH        1
#define BOOT_LINUX32    2
#define BOOT_LINUX64    3

/* struct percpu field offsets (GS base points at it, CPL 0 and CPL 3 alike). */
#define PCPU_TICKS      0
#define PCPU_IRQS       16

#define LAPIC_BASE      0xFEE00000

#endif
