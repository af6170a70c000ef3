/*
 * Per-CPU descriptor tables and the CPL 0 start of every CPU.  cpu_start() is the only C
 * that runs at CPL 0 on the normal path (besides trap()): a handful of instructions, then
 * iretq to CPL 3.  The IDT and the APs' TSS descriptors are filled from CPL 3, where it is fast.
 */
#include "kernel.h"

/*
 * 64-bit TSS with a full I/O permission bitmap that allows every port.  IOPL 3 alone does not
 * give CPL 3 port access on our PVM hosts (the hardware runs the guest with IOPL 0 and KVM's
 * emulator checks the guest's TSS bitmap instead), so both are set.
 */
struct tss {
    u32 reserved0;
    u64 rsp0, rsp1, rsp2;
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
    u8 iomap[8192];
    u8 iomap_end;       /* 0xFF: the CPU reads two bytes of the bitmap */
} __attribute__((packed, aligned(16)));

/* Not in .bss: the BSP writes its TSS at CPL 0 before its CPL 3 code clears the bss. */
__attribute__((section(".tss"))) struct tss tss[MAXCPU];
__attribute__((section(".data"), aligned(64))) struct percpu percpu[MAXCPU];
__attribute__((section(".data"), aligned(64))) struct percpu percpu[MAXCPU];
static u64 idt[256 * 2] __attribute__((aligned(4096)));

void bsp_main(void) __attribute__((noreturn));
void ap_main(void) __attribute__((noreturn));

void set_tss(u32 idx)
{
    u64 base = (u64)&tss[idx], limit = __builtin_offsetof(struct tss, iomap_end);
    tss[idx].rsp0 = (u64)kstacks + (u64)(idx + 1) * KSTACK_SIZE;
    tss[idx].iomap_base = __builtin_offsetof(struct tss, iomap);
    gdt_tss[idx * 2] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89UL << 40) |
                       (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    gdt_tss[idx * 2 + 1] = base >> 32;
}

static void set_gate(int vec, void (*fn)(void), int dpl)
{
    u64 a = (u64)fn;
    idt[vec * 2] = (a & 0xFFFF) | ((u64)KCODE64 << 16) | ((u64)(0x8E | (dpl << 5)) << 40) |
                   (((a >> 16) & 0xFFFF) << 48);
    idt[vec * 2 + 1] = a >> 32;
}

/* CPL 3, BSP, before any port I/O: allow every port to every CPU. */
void clear_io_bitmaps(void)
{
    for (int i = 0; i < MAXCPU; i++) {
        memset(tss[i].iomap, 0, sizeof tss[i].iomap);
        tss[i].iomap_end = 0xFF;
    }
}

/* Runs at CPL 3 on the BSP before anything can fault. */
void fill_idt(void)
{
    for (int v = 0; v < 32; v++)
        set_gate(v, (void (*)(void))exc_table[v], 0);
    for (int v = VEC_PIC_BASE; v < VEC_PIC_BASE + 16; v++)
        set_gate(v, isr_ignore, 0);
    set_gate(VEC_TIMER, isr_timer, 0);
    set_gate(VEC_MSI, isr_msi, 0);
    set_gate(6, isr_idle, 0);           /* #UD: ud2 is the idle call */
    set_gate(VEC_SPURIOUS, isr_ignore, 0);
}

/* CPL 0, interrupts off, on this CPU's kernel stack. */
void cpu_start(u32 idx)
{
    if (idx >= MAXCPU)
        for (;;)
            __asm__ volatile("hlt");
    if (idx == 0) {
        set_tss(0);     /* the APs' descriptors are prepared by the BSP at CPL 3 */
        /* Remap the legacy PIC away from the exception vectors and mask it, here with
         * interrupts off: CPL 3 always runs with interrupts on, and firmware may have left
         * the PIT ticking into IRQ 0. */
        outb(0x20, 0x11); outb(0xA0, 0x11);
        outb(0x21, VEC_PIC_BASE); outb(0xA1, VEC_PIC_BASE + 8);
        outb(0x21, 4); outb(0xA1, 2);
        outb(0x21, 1); outb(0xA1, 1);
        outb(0x21, 0xFF); outb(0xA1, 0xFF);
    }
    struct { u16 limit; u64 base; } __attribute__((packed)) idtr = { sizeof idt - 1, (u64)idt };
    __asm__ volatile("lidt %0" ::"m"(idtr));
    __asm__ volatile("ltr %w0" ::"r"(TSS_SEL0 + idx * 16));
    u64 gs = (u64)&percpu[idx];
    __asm__ volatile("wrmsr" ::"c"(0xC0000101), "a"((u32)gs), "d"((u32)(gs >> 32)));
    percpu[idx].index = idx;
    enter_user(idx ? ap_main : bsp_main, (u64)ustacks + (u64)(idx + 1) * USTACK_SIZE - 8);
}

struct trap_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vec, err, rip, cs, rflags, rsp, ss;
};

/* CPL 0: report an unexpected exception and stop this CPU (others go on). */
void trap(struct trap_frame *f)
{
    char buf[200];
    u64 cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    snprintf(buf, sizeof buf, "EXCEPTION vec=%lu err=0x%lx rip=0x%lx cs=0x%lx rflags=0x%lx rsp=0x%lx cr2=0x%lx cpu=%u\n",
             f->vec, f->err, f->rip, f->cs, f->rflags, f->rsp, cr2, my_index());
    serial_raw_puts(buf);
    for (;;)
        __asm__ volatile("sti; hlt");
}
