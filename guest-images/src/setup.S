/*
 * bzImage setup part (Documentation/x86/boot.rst, protocol 2.15).  The real-mode code is a
 * stub: jhv and other 64-bit loaders enter the payload at 0x100000 + 0x200 directly.
 * SETUP_SECTS, SYSSIZE and INIT_SIZE come from the build script (--defsym).
 */
    .code16
    .section .text
    .globl _start
_start:
    ljmp $0x07C0, $(bs_msg_loop - _start)
bs_msg_loop:
    movw %cs, %ax
    movw %ax, %ds
    movw $(bs_msg - _start), %si
1:  lodsb
    testb %al, %al
    jz 2f
    movb $0x0E, %ah
    movw $7, %bx
    int $0x10
    jmp 1b
2:  cli
    hlt
    jmp 2b
bs_msg:
    .asciz "testos: boot with a Linux boot protocol loader (64-bit entry)\r\n"

    .org 0x1F1
setup_sects:    .byte SETUP_SECTS
root_flags:     .word 0
syssize:        .long SYSSIZE
ram_size:       .word 0
vid_mode:       .word 0xFFFF
root_dev:       .word 0
boot_flag:      .word 0xAA55
/* 0x200 */
jump:           .byte 0xEB, (setup_stub - jump - 2)
header:         .ascii "HdrS"
version:        .word 0x020F
realmode_swtch: .long 0
start_sys_seg:  .word 0x1000
kernel_version: .word kversion - _start - 0x200
type_of_loader: .byte 0
loadflags:      .byte 0x01                  /* LOADED_HIGH */
setup_move_size: .word 0x8000
code32_start:   .long 0x100000
ramdisk_image:  .long 0
ramdisk_size:   .long 0
bootsect_kludge: .long 0
heap_end_ptr:   .word 0
ext_loader_ver: .byte 0
ext_loader_type: .byte 0
cmd_line_ptr:   .long 0
initrd_addr_max: .long 0x7FFFFFFF
kernel_alignment: .long 0x200000
relocatable_kernel: .byte 0
min_alignment:  .byte 21
xloadflags:     .word 0x0001                /* XLF_KERNEL_64: 64-bit entry at +0x200 */
cmdline_size:   .long 2047
hardware_subarch: .long 0
hardware_subarch_data: .quad 0
payload_offset: .long 0
payload_length: .long 0
setup_data:     .quad 0
pref_address:   .quad 0x100000
init_size:      .long INIT_SIZE
handover_offset: .long 0
kernel_info_offset: .long 0

/*
 * Real-mode setup entry (QEMU's and other BIOS loaders): ds = es = ss = the setup segment,
 * cs = ds + 0x20.  Builds a zero page at ds:0x1000 (the header copied in, e820 from
 * int 0x15/E820), enters 32-bit protected mode and jumps to the 32-bit entry at 0x100000
 * with %esi = the zero page, as Documentation/x86/boot.rst's 32-bit protocol has it.
 * 64-bit loaders (jhv) skip all this and enter the payload at 0x100000 + 0x200.
 */
#define ZP 0x1000
setup_stub:
    cli
    cld
    movw %ds, %ax
    movw %ax, %es
    movw $ZP, %di                       /* clear the zero page */
    xorw %ax, %ax
    movw $2048, %cx
    rep stosw
    movw $0x1F1, %si                    /* copy the setup header */
    movw $(ZP + 0x1F1), %di
    movw $(0x290 - 0x1F1), %cx
    rep movsb
    movw $(ZP + 0x2D0), %di             /* e820 */
    xorl %ebx, %ebx
1:  movl $0xE820, %eax
    movl $0x534D4150, %edx              /* "SMAP" */
    movl $20, %ecx
    int $0x15
    jc 2f
    cmpl $0x534D4150, %eax
    jne 2f
    incb ZP + 0x1E8
    addw $20, %di
    cmpb $128, ZP + 0x1E8
    jae 2f
    testl %ebx, %ebx
    jnz 1b
2:  cli
    xorl %eax, %eax                     /* linear addresses of the GDT and the zero page */
    movw %ds, %ax
    shll $4, %eax
    movl %eax, %esi
    addl $ZP, %esi
    addl $(setup_gdt - _start), %eax
    movl %eax, setup_gdtr - _start + 2
    lgdtl setup_gdtr - _start
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    movw $0x18, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    ljmpl $0x10, $0x100000
    .p2align 3
setup_gdt:
    .quad 0, 0
    .quad 0x00CF9A000000FFFF            /* 0x10 __BOOT_CS */
    .quad 0x00CF92000000FFFF            /* 0x18 __BOOT_DS */
setup_gdtr:
    .word 31
    .long 0
kversion:
    .asciz "testos-1.0 (jhv test guest)"
    .org (SETUP_SECTS + 1) * 512
