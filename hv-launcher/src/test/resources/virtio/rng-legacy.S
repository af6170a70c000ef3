/* A firmware of a few instructions for VirtioPciIT: plays a legacy virtio driver of -device virtio-rng-pci,addr=5
   (BAR0 at 0xc000) in real mode, asks for 64 random bytes, and exits through isa-debug-exit at 0xf4 with
   the ISR once set (1: queue interrupt) + 2 if the buffer was filled: jhv exits with (3 << 1) | 1 = 7. */
.code16
.text
.globl _start
_start:
    cli
    /* 00:05.0 BAR0 = 0xc000, then I/O decode on */
    movl $0x80002810, %eax
    movw $0xcf8, %dx
    outl %eax, %dx
    movl $0xc000, %eax
    movw $0xcfc, %dx
    outl %eax, %dx
    movl $0x80002804, %eax
    movw $0xcf8, %dx
    outl %eax, %dx
    movw $1, %ax
    movw $0xcfc, %dx
    outw %ax, %dx
    /* the ring at 0x10000: one writable descriptor of 64 bytes at 0x20000, made available */
    movw $0x1000, %ax
    movw %ax, %ds
    movl $0x20000, 0x0
    movl $0, 0x4
    movl $64, 0x8
    movw $2, 0xc
    movw $0, 0xe
    movw $0, 0x80
    movw $0, 0x84
    /* legacy virtio: ACKNOWLEDGE|DRIVER, no features, queue 0 at PFN 0x10, DRIVER_OK, notify queue 0 */
    movw $0xc012, %dx
    movb $3, %al
    outb %al, %dx
    movw $0xc004, %dx
    xorl %eax, %eax
    outl %eax, %dx
    movw $0xc00e, %dx
    xorw %ax, %ax
    outw %ax, %dx
    movw $0xc008, %dx
    movl $0x10, %eax
    outl %eax, %dx
    movw $0xc012, %dx
    movb $7, %al
    outb %al, %dx
    movw $1, 0x82
    movw $0xc010, %dx
    xorw %ax, %ax
    outw %ax, %dx
wait:
    movw 0x1002, %ax
    cmpw $1, %ax
    jne wait
    /* the interrupt follows the used index: wait for the ISR (read-to-clear, so kept in bl) */
    movw $0xc013, %dx
isr:
    inb %dx, %al
    testb %al, %al
    jz isr
    /* exit value: ISR (1 for the queue) + 2 if the buffer got non-zero bytes */
    movb %al, %bl
    movw $0x2000, %ax
    movw %ax, %ds
    movl 0x0, %eax
    orl 0x4, %eax
    orl 0x8, %eax
    orl 0xc, %eax
    jz done
    addb $2, %bl
done:
    movb %bl, %al
    outb %al, $0xf4
halt:
    hlt
    jmp halt
