/* testos: shared declarations. */
#ifndef KERNEL_H
#define KERNEL_H
#include "config.h"

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long s64;
typedef __builtin_va_list va_list;
#define va_start __builtin_va_start
#define va_arg __builtin_va_arg
#define va_end __builtin_va_end
#define NULL ((void *)0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void pause(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void idle_wait(void) { __asm__ volatile("ud2" ::: "memory"); } /* CPL 0 sti; hlt (see isr_idle) */
static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

static inline u32 mmio_r32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u8 mmio_r8(u64 a) { return *(volatile u8 *)a; }
static inline void mmio_w8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline u16 mmio_r16(u64 a) { return *(volatile u16 *)a; }
static inline void mmio_w16(u64 a, u16 v) { *(volatile u16 *)a = v; }
/* Orders the CPU's stores to shared rings against the device (x86: stores are not reordered
 * with stores, but a later load may pass an earlier store). */
static inline void mb(void) { __asm__ volatile("mfence" ::: "memory"); }

/* Per-CPU block; GS base points at it (set at CPL 0, never changed; CPL 3 reads it too). */
struct percpu {
    u64 ticks;      /* PCPU_TICKS: incremented by the LAPIC timer handler */
    u32 index;      /* arrival index (0 = BSP) */
    u32 rank;       /* CPU number as printed: order of coming up at CPL 3 */
    u64 irqs;       /* PCPU_IRQS: MSI-X interrupts taken (irq=msix) */
};
extern struct percpu percpu[MAXCPU];
static inline u64 ticks(void) { u64 v; __asm__ volatile("movq %%gs:0, %0" : "=r"(v)); return v; }
static inline u32 my_index(void) { u32 v; __asm__ volatile("movl %%gs:8, %0" : "=r"(v)); return v; }

/* head.S */
extern u8 tramp_start[], tramp_end[];
extern u64 exc_table[32];
extern u64 pml4[512], pdpt[512];
extern u64 boot_ptr;
extern u32 boot_kind, next_cpu;
extern u64 gdt_tss[];
extern u8 kstacks[], ustacks[];
extern u8 _start_image[], _bss_start[], _bss_end[], _end[];
void isr_timer(void), isr_idle(void), isr_ignore(void), isr_msi(void);
void enter_user(void (*rip)(void), u64 rsp) __attribute__((noreturn));

/* lib.c */
void *memset(void *d, int c, u64 n);
void *memcpy(void *d, const void *s, u64 n);
int memcmp(const void *a, const void *b, u64 n);
u64 strlen(const char *s);
int vsnprintf(char *buf, u64 size, const char *fmt, va_list ap);
int snprintf(char *buf, u64 size, const char *fmt, ...);

/* console.c */
void serial_init(void);
void kprintf(const char *fmt, ...);         /* whole line under a lock */
void serial_raw_puts(const char *s);        /* no lock: CPL 0 trap path */
int serial_getc(void);                      /* -1 if nothing */

/* cpl0.c */
void fill_idt(void);
void set_tss(u32 idx);
void clear_io_bitmaps(void);

/* acpi.c */
struct acpi_info {
    u64 rsdp;
    int ncpus;
    u8 apic_ids[MAXCPU];
    int have_fadt, hw_reduced;
    u32 pm1a_cnt, pm1b_cnt;
    u32 pm1a_evt;                           /* PM1a_EVT_BLK: status word, then enable */
    u8 sleep_space; u64 sleep_addr;         /* SLEEP_CONTROL_REG (HW-reduced) */
    int slp_typ;                            /* from \_S5 */
};
extern struct acpi_info acpi;
void acpi_init(u64 rsdp_hint);
void acpi_poweroff(void);
int acpi_power_button_pressed(void);

/* main.c */
#define MAX_E820 128
struct e820 { u64 addr, size; u32 type; };
extern struct e820 e820[MAX_E820];
extern int e820_n;
extern int hz;
void delay_ticks(u64 n);
int map_mmio(u64 addr, u64 len);            /* identity map, uncached, user; 0 or -1 (no page tables left) */

/* pci.c */
u32 pci_read(u32 bdf, u32 reg);
u16 pci_read16(u32 bdf, u32 reg);
u8 pci_read8(u32 bdf, u32 reg);
void pci_write(u32 bdf, u32 reg, u32 v);
void pci_write16(u32 bdf, u32 reg, u16 v);
u32 pci_scan(int (*match)(u32 bdf, void *arg), void *arg);

/* work.c */
struct config {
    enum { MODE_IDLE, MODE_POWEROFF, MODE_DIRTY, MODE_VERIFY, MODE_DISK, MODE_DISK_BAD, MODE_VBLK, MODE_VNET } mode;
    u64 hb_ms;
    u64 mib;
    u64 rate;       /* pages/s per CPU, 0 = max */
    u64 words;      /* mode=dirty words=N: a rewrite changes the header and N words (0 = the whole page) */
    u64 dirty_cpus; /* cpus=0,1: bit n set = CPU n runs the dirtier; 0 = all CPUs */
    u64 exit_code;  /* exit=<n>: written to isa-debug-exit (0xf4) after the ready line */
    int has_exit;
    /* mode=disk / disk-bad */
    u64 disk_drive;     /* 0..3: primary master, primary slave, secondary master, secondary slave */
    u64 disk_lba, disk_sectors, disk_count, disk_dma, disk_lba48, disk_seed, disk_write;
    /* virtio (virtio.c, vblk.c, vnet.c); vblk also uses disk_lba, disk_sectors, disk_count, disk_seed, disk_write */
    u64 vio_dev;        /* dev=N: the Nth device of the mode's type */
    int vio_legacy;     /* transport=legacy: the I/O BAR0 interface of a transitional device */
    u64 vio_nofeat;     /* features=: VIRTIO_F_* / device bits the driver refuses although offered */
    u64 vblk_depth, vblk_bs, vblk_ios;
    int vblk_rand;      /* pattern=rand */
    enum { VBLK_VERIFY, VBLK_READ, VBLK_WRITE } vblk_op;
    u32 vnet_ip, vnet_mask;
    int vnet_dhcp;
    u64 vnet_rxbuf;     /* receive buffer bytes (with MRG_RXBUF a frame may span several) */
    int vio_msix;       /* irq=msix: virtio queues interrupt through MSI-X vector 0 (modern transport) */
    int vnet_spin;      /* poll=spin: CPU 0 polls the NIC without halting (no interrupts: the tick would
                           bound it to a window per 10 ms) */
};
extern struct config cfg;
void parse_cmdline(const char *s);
void region_init(void);
void workload(u32 rank, u32 nworkers) __attribute__((noreturn));

/* disk.c */
void disk_run(void);
void disk_check(void);
void disk_bad(void);
int ram_covers(u64 a, u64 len);
u64 disk_pattern(u64 lba, u64 w);
void pattern_fill(u8 *buf, u64 lba, u32 n);
int pattern_check(const char *what, const u8 *buf, u64 lba, u32 n);

/* vblk.c, vnet.c */
void vblk_run(void);
void vnet_init(void);
int vnet_poll(void);        /* CPU 0's loop: receive, answer, DHCP timers; 1 if a frame came */
void vnet_stats(void);

#endif
