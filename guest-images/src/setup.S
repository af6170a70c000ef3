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

setup_stub:     /* real-mode setup entry (not supported): stop */
    cli
1:  hlt
    jmp 1b
kversion:
    .asciz "testos-1.0 (jhv test guest)"
    .org (SETUP_SECTS + 1) * 512
