/*
 * testos entry points, mode switches, static page tables and GDT, the AP trampoline and
 * the interrupt stubs.  Everything here runs at CPL 0, which KVM on our hosts emulates
 * instruction by instruction: keep it short.
 */
#include "config.h"

/* ---- payload offset 0: 32-bit Linux boot protocol entry, %esi = boot_params ---- */
    .section .head, "ax"
    .code32
    .globl _head
_head:
    cli
    movl %esi, boot_ptr
    movl $0, boot_ptr + 4
    movl $BOOT_LINUX32, boot_kind
    xorl %edi, %edi
    jmp common32

/* ---- Xen PVH entry: 32-bit protected mode, paging off, %ebx = hvm_start_info ---- */
    .globl pvh_entry
pvh_entry:
    cli
    movl %ebx, boot_ptr
    movl $0, boot_ptr + 4
    movl $BOOT_PVH, boot_kind
    xorl %edi, %edi
    jmp common32

/* ---- APs arrive here from the trampoline in 32-bit protected mode ---- */
ap32:
    movl $KDATA, %eax                   /* DS still has its real-mode 64 KiB limit */
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl $1, %edi

/* 32-bit protected mode, paging off, flat segments.  %edi = 0 for the BSP, 1 for an AP. */
common32:
    lgdt gdt_ptr
    movl $KDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %cr4, %eax
    orl $0x20, %eax                     /* PAE */
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx              /* EFER.LME */
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax               /* PG | PE */
    movl %eax, %cr0
    ljmp $KCODE64, $common64

/* ---- payload offset 0x200: 64-bit Linux boot protocol entry, %rsi = boot_params ---- */
    .org 0x200
    .code64
    .globl entry64
entry64:
    cli
    movq %rsi, boot_ptr(%rip)
    movl $BOOT_LINUX64, boot_kind(%rip)
    movl $pml4, %eax
    movq %rax, %cr3
    lgdt gdt_ptr(%rip)                  /* our 0x10 is a 64-bit code segment, like the loader's */
    xorl %edi, %edi

/* 64-bit mode, our page tables and GDT, interrupts off. */
common64:
    movl $KDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    testl %edi, %edi
    jz 1f
    movl $1, %eax
    lock xaddl %eax, next_cpu(%rip)     /* AP index, in arrival order */
    movl %eax, %edi
1:  leal 1(%rdi), %eax
    shll $KSTACK_SHIFT, %eax
    leaq kstacks(%rip), %rsp
    addq %rax, %rsp
    call cpu_start                      /* C, CPL 0; leaves for CPL 3 and never returns */
2:  hlt
    jmp 2b

/* enter_user(rip, rsp): iretq to CPL 3 with IOPL 3 and interrupts on (PVM keeps IF set at CPL 3 anyway). */
    .text
    .globl enter_user
enter_user:
    pushq $(UDATA | 3)
    pushq %rsi
    pushq $0x3202
    pushq $(UCODE64 | 3)
    pushq %rdi
    iretq

/* ---- interrupt entry ---- */
    .globl isr_timer, isr_idle, isr_ignore, isr_msi
isr_timer:
    pushq %rax
    movl $(LAPIC_BASE + 0xB0), %eax     /* EOI */
    movl $0, (%rax)
    incq %gs:PCPU_TICKS
    popq %rax
    iretq

/*
 * #UD.  A ud2 executed on purpose at CPL 3 is the idle call: wait for the next interrupt with
 * the CPU halted, then continue after the ud2.  (hlt is not allowed at CPL 3, and on our PVM
 * hosts software interrupts from CPL 3 do not reach the guest's IDT, but exceptions do.)
 */
isr_idle:
    pushq %rax
    movq 8(%rsp), %rax                  /* faulting rip */
    cmpw $0x0B0F, (%rax)                /* ud2 */
    jne 1f
    addq $2, 8(%rsp)
    popq %rax
    sti
    hlt
    iretq
1:  popq %rax
    pushq $0
    pushq $6
    jmp exc_common

isr_ignore:
    iretq

/* virtio MSI-X: counted; its use is that it ends the idle call's hlt */
isr_msi:
    pushq %rax
    movl $(LAPIC_BASE + 0xB0), %eax     /* EOI */
    movl $0, (%rax)
    incq %gs:PCPU_IRQS
    popq %rax
    iretq

.macro EXC vec, err
exc\vec:
    .if \err == 0
    pushq $0
    .endif
    pushq $\vec
    jmp exc_common
.endm
    EXC 0,0;  EXC 1,0;  EXC 2,0;  EXC 3,0;  EXC 4,0;  EXC 5,0;  EXC 6,0;  EXC 7,0
    EXC 8,1;  EXC 9,0;  EXC 10,1; EXC 11,1; EXC 12,1; EXC 13,1; EXC 14,1; EXC 15,0
    EXC 16,0; EXC 17,1; EXC 18,0; EXC 19,0; EXC 20,0; EXC 21,1; EXC 22,0; EXC 23,0
    EXC 24,0; EXC 25,0; EXC 26,0; EXC 27,0; EXC 28,0; EXC 29,1; EXC 30,1; EXC 31,0

exc_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    andq $-16, %rsp
    call trap                           /* prints and never returns */
3:  hlt
    jmp 3b

    .section .rodata
    .p2align 3
    .globl exc_table
exc_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exc\n
    .endr

/* ---- AP trampoline: copied to TRAMPOLINE, entered in real mode at TRAMPOLINE:0 ---- */
    .p2align 4
    .globl tramp_start, tramp_end
    .code16
tramp_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl TRAMPOLINE + (tramp_gdtr - tramp_start)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $KCODE32, $ap32
    .p2align 2
tramp_gdtr:
    .word gdt_end - gdt - 1
    .long gdt
tramp_end:
    .code64

/* ---- Xen PVH note: XEN_ELFNOTE_PHYS32_ENTRY ---- */
    .section .note.Xen, "a", @note
    .p2align 2
    .long 4, 8, 18
    .asciz "Xen"
    .p2align 2
    .quad pvh_entry

/* ---- identity map of the low 4 GiB with 2 MiB user pages (RAM above 4 GiB is added at run time) ---- */
    .section .pgtable, "aw"
    .p2align 12
    .globl pml4, pdpt, pd_low
pml4:
    .quad pdpt + 0x7
    .fill 511, 8, 0
pdpt:
    .quad pd_low + 0x0007
    .quad pd_low + 0x1007
    .quad pd_low + 0x2007
    .quad pd_low + 0x3007
    .fill 508, 8, 0
pd_low:
    .set i, 0
    .rept 2048
    .quad (i << 21) | 0x87              /* P | RW | US | PS */
    .set i, i + 1
    .endr

    .data
    .p2align 4
    .globl gdt, gdt_tss, gdt_end, boot_ptr, boot_kind, next_cpu
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF            /* 0x08 code32 */
    .quad 0x00AF9A000000FFFF            /* 0x10 code64 */
    .quad 0x00CF92000000FFFF            /* 0x18 data */
    .quad 0x00CFF2000000FFFF            /* 0x20 user data */
    .quad 0x00AFFA000000FFFF            /* 0x28 user code64 */
gdt_tss:
    .fill MAXCPU * 2, 8, 0
gdt_end:
    .p2align 3
    .word 0, 0, 0
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt
    .p2align 3
boot_ptr:
    .quad 0
boot_kind:
    .long 0
next_cpu:
    .long 1

    .section .stacks, "aw", @nobits
    .p2align 12
    .globl kstacks, ustacks
kstacks:
    .skip KSTACK_SIZE * MAXCPU
ustacks:
    .skip USTACK_SIZE * MAXCPU
