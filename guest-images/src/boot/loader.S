/*
 * testos-boot: a BIOS boot loader for testos.bin (or any bzImage, protocol >= 2.02), for both a
 * hard disk MBR and an El Torito no-emulation CD.  One 2048-byte binary:
 *
 *   0x000  jmp, then at 0x008 the 56-byte boot information table (mkisofs -boot-info-table):
 *          bi_pvd, bi_file (LBA of this image, in the drive's sectors), bi_length (bytes of
 *          loader + kernel), bi_csum.  xorriso fills it in for the CD; the build writes it
 *          for the disk (bi_file 0: the image starts at the MBR).
 *   0x040  stage 1 (must fit before the MBR's disk signature at 0x1B8): checks the int 13h
 *          extensions (AH=41h), asks the sector size (AH=48h, 512 if it has no answer) and
 *          reads the whole loader again to 0x7C00 with AH=42h, so the BIOS needs to have
 *          loaded only the first 512 bytes.
 *   0x1BE  partition table (left to the disk build), 0x1FE 0xAA55
 *   0x200  stage 2: enables A20, takes the command line from fw_cfg "opt/testos/cmdline" or
 *          the default below, reads the kernel (it follows the loader at byte LOADER_SIZE)
 *          to 0x20000, copies its setup part to 0x10000 and its payload to 0x100000 with
 *          int 15h AH=87h, fills in the loader's header fields, and jumps to the setup code.
 *   0x6F8  "CMDLINE=" then the default command line (NUL-terminated, up to 247 bytes) at 0x700
 *   0x7F8  "TESTOSLD": stage 1 checks it after its read
 *
 * Memory: variables at 0x500-0x5FF (never in the image: stage 1 reads the image over
 * itself), stack below 0x7C00, setup at 0x10000 (heap up to 0x18000, command line at
 * 0x18000), kernel buffer 0x20000-0x8FFFF (so a kernel of at most 448 KiB).
 * Progress and errors go to COM1 (0x3F8) directly, one short line.
 */
    .code16
    .set LOADER_SIZE, 2048
    .set SETUP_SEG, 0x1000
    .set CMDLINE_SEG, 0x1800
    .set CMDLINE_MAX, 2047
    .set BUF_SEG, 0x2000
    .set BUF_MAX, 0x70000
    .set CHUNK, 0x8000              /* bytes per int 13h read */
    .set FW_CFG_SEL, 0x510
    .set FW_CFG_DATA, 0x511

    /* variables, outside the image */
    .set drive, 0x500
    .set secsize, 0x502
    .set shift, 0x504
    .set src_fw, 0x505
    .set lba, 0x508
    .set remain, 0x50C
    .set bufseg, 0x510
    .set klen, 0x514
    .set setup_len, 0x518
    .set dst, 0x51C
    .set dap, 0x520
    .set edd, 0x540
    .set gdt87, 0x560
    .set fwbuf, 0x5A0

    .text
    .globl _start
_start:
    jmp stage1
    .org 8
bi_pvd:     .long 0
bi_file:    .long 0
bi_length:  .long 0
bi_csum:    .long 0
            .space 40

    .org 0x40
stage1:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $0x7C00, %sp
    ljmp $0, $1f                    /* some BIOSes enter at 07C0:0000 */
1:  sti
    cld
    movb %dl, drive
    movw $msg_noext, %si
    movw $0x55AA, %bx
    movb $0x41, %ah
    int $0x13
    jc fail
    cmpw $0xAA55, %bx
    jne fail
    testb $1, %cl                   /* packet (AH=42h) interface */
    jz fail
    movw $512, secsize
    movw $0x1E, edd
    movw $edd, %si
    movb $0x48, %ah
    movb drive, %dl
    int $0x13
    jc 2f
    movw edd + 0x18, %ax            /* bytes per sector: a power of two, 512..2048 */
    cmpw $512, %ax
    jb 2f
    cmpw $LOADER_SIZE, %ax
    ja 2f
    movw %ax, %cx
    decw %cx
    testw %ax, %cx
    jnz 2f
    movw %ax, secsize
2:  bsfw secsize, %cx
    movb %cl, shift
    movl bi_file, %eax
    movl %eax, lba
    movw $(LOADER_SIZE), %ax
    shrw %cl, %ax
    movzwl %ax, %eax
    movl %eax, remain
    movw $0x07C0, bufseg
    call read_all
    movw $msg_read, %si
    jc fail
    movw $msg_badld, %si
    cmpl $0x4F545345, sig + 1       /* "ESTO" of "TESTOSLD" */
    jne fail
    jmp stage2

/* Reads `remain` sectors from `lba` to bufseg:0 in CHUNK pieces; advances all three.
 * CF set and the BIOS's status in %ah on an error. */
read_all:
    movw $CHUNK, %ax
    movb shift, %cl
    shrw %cl, %ax                   /* sectors per chunk */
    movzwl %ax, %eax
    movl remain, %ebx
    cmpl %eax, %ebx
    jae 1f
    movw %bx, %ax
1:  movw $0x0010, dap
    movw %ax, dap + 2
    movw $0, dap + 4
    movw bufseg, %bx
    movw %bx, dap + 6
    movl lba, %ebx
    movl %ebx, dap + 8
    movl $0, dap + 12
    pushw %ax
    movw $dap, %si
    movb drive, %dl
    movb $0x42, %ah
    int $0x13
    popw %cx
    jc 9f
    movzwl %cx, %ecx
    addl %ecx, lba
    addw $(CHUNK >> 4), bufseg      /* only the last chunk may be shorter */
    subl %ecx, remain
    jnz read_all
9:  ret

fail:                               /* "testos-boot: " and the message at %si */
    pushw %si
    movw $msg_prefix, %si
    call puts
    popw %si
    call puts
3:  hlt
    jmp 3b

/* COM1 output, polled (no BIOS involved: also works where int 10h goes nowhere). */
putc:
    pushw %dx
    pushw %cx
    pushw %ax
    movw $0x3FD, %dx
    movw $0xFFFF, %cx
1:  inb %dx, %al
    testb $0x20, %al
    loopz 1b
    popw %ax
    movw $0x3F8, %dx
    outb %al, %dx
    popw %cx
    popw %dx
    ret
puts:
    lodsb
    testb %al, %al
    jz 1f
    call putc
    jmp puts
1:  ret
msg_prefix: .asciz "testos-boot: "
msg_noext:  .asciz "no EDD\r\n"
msg_read:   .asciz "read error\r\n"
msg_badld:  .asciz "bad loader\r\n"

    .org 0x1B8, 0                   /* disk signature and partition table: the disk build's */
    .org 0x1FE, 0
    .word 0xAA55

/* ---- stage 2 ---- */
stage2:
    call a20
    call get_cmdline
    /* the kernel: from byte LOADER_SIZE of the image, bi_length - LOADER_SIZE bytes */
    movw $msg_size, %si
    movl bi_length, %eax
    subl $LOADER_SIZE, %eax
    jbe fail
    cmpl $BUF_MAX, %eax
    ja fail
    movl %eax, klen
    movb shift, %cl
    movzwl secsize, %ebx
    decl %ebx
    addl %ebx, %eax
    shrl %cl, %eax
    movl %eax, remain
    movl bi_file, %eax
    movw $LOADER_SIZE, %bx
    shrw %cl, %bx
    movzwl %bx, %ebx
    addl %ebx, %eax
    movl %eax, lba
    movw $BUF_SEG, bufseg
    call read_all
    movw $msg_read2, %si
    jc fail_ah

    /* check the header: boot_flag, "HdrS", protocol >= 2.02, LOADED_HIGH */
    movw $BUF_SEG, %ax
    movw %ax, %fs
    movw $msg_kernel, %si
    cmpw $0xAA55, %fs:0x1FE
    jne fail
    cmpl $0x53726448, %fs:0x202
    jne fail
    cmpw $0x0202, %fs:0x206
    jb fail
    testb $1, %fs:0x211
    jz fail
    movzbl %fs:0x1F1, %eax          /* setup_sects, 0 means 4 */
    testb %al, %al
    jnz 1f
    movb $4, %al
1:  incl %eax
    shll $9, %eax
    movl %eax, setup_len
    movl %fs:0x1F4, %ebx            /* syssize: payload in 16-byte units */
    shll $4, %ebx
    addl %ebx, %eax
    subl $15, %eax                  /* syssize is rounded up to 16 bytes */
    movw $msg_size, %si
    cmpl klen, %eax
    ja fail

    /* setup part to SETUP_SEG:0 */
    pushw %ds
    movw $SETUP_SEG, %ax
    movw %ax, %es
    movw $BUF_SEG, %ax
    movw %ax, %ds
    xorw %si, %si
    xorw %di, %di
    movw %ss:setup_len, %cx
    rep movsb
    popw %ds

    /* payload to 0x100000 in pieces of up to 64 KiB (int 15h AH=87h) */
    movl $0x100000, dst
    movl setup_len, %eax
    addl $(BUF_SEG << 4), %eax
    movl %eax, lba                  /* reused: source linear address */
    movl %fs:0x1F4, %eax
    shll $4, %eax
    movl %eax, remain
copy:
    movl remain, %ecx
    cmpl $0x10000, %ecx
    jbe 1f
    movl $0x10000, %ecx
1:  pushl %ecx
    xorw %ax, %ax
    movw %ax, %es
    movw $gdt87, %di
    movw $24, %cx                   /* 48 bytes of zeros */
    rep stosw
    movl lba, %eax
    movw $(gdt87 + 0x10), %di
    call desc
    movl dst, %eax
    movw $(gdt87 + 0x18), %di
    call desc
    popl %ecx
    pushl %ecx
    incl %ecx
    shrl $1, %ecx                   /* words */
    movw $gdt87, %si
    movb $0x87, %ah
    int $0x15
    popl %ecx
    movw $msg_copy, %si
    jc fail_ah
    addl %ecx, lba
    addl %ecx, dst
    subl %ecx, remain
    jnz copy

    /* the header fields a boot loader fills in */
    movw $SETUP_SEG, %ax
    movw %ax, %es
    movb $0xFF, %es:0x210           /* type_of_loader: no assigned id */
    orb $0x80, %es:0x211            /* loadflags: CAN_USE_HEAP */
    movw $(0x8000 - 0x200), %es:0x224   /* heap_end_ptr */
    movl $(CMDLINE_SEG << 4), %es:0x228 /* cmd_line_ptr */

    movw $msg_prefix, %si
    call puts
    movw $msg_boot, %si
    call puts
    movb drive, %al
    call puthex8
    movw $msg_sector, %si
    call puts
    movw secsize, %ax
    movb %ah, %al
    call puthex8
    movb secsize, %al
    call puthex8
    movw $msg_default, %si
    cmpb $0, src_fw
    je 1f
    movw $msg_fwcfg, %si
1:  call puts

    cli
    movw $SETUP_SEG, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movw $0x8000, %sp
    ljmp $(SETUP_SEG + 0x20), $0

fail_ah:                            /* message at %si, then "xx" from %ah */
    pushw %ax
    pushw %si
    movw $msg_prefix, %si
    call puts
    popw %si
    call puts
    popw %ax
    movb %ah, %al
    call puthex8
    movw $msg_nl, %si
    jmp fail

puthex8:
    pushw %ax
    shrb $4, %al
    call 1f
    popw %ax
1:  andb $0x0F, %al
    addb $'0', %al
    cmpb $'9', %al
    jbe 2f
    addb $('a' - '9' - 1), %al
2:  jmp putc


/* A data segment descriptor for AH=87h at %es:%di, base %eax, limit 64 KiB. */
desc:
    movw $0xFFFF, %es:(%di)
    movw %ax, %es:2(%di)
    shrl $16, %eax
    movb %al, %es:4(%di)
    movb $0x93, %es:5(%di)
    movb %ah, %es:7(%di)
    ret

/* A20 on: the BIOS call, then port 0x92 (testos's setup code does not do it). */
a20:
    movw $0x2401, %ax
    int $0x15
    inb $0x92, %al
    testb $2, %al
    jnz 1f
    orb $2, %al
    andb $0xFE, %al                 /* bit 0 would reset the machine */
    outb %al, $0x92
1:  ret

/* fw_cfg: select %ax, then read %cx bytes to %es:%di */
fw_read:
    movw $FW_CFG_SEL, %dx
    outw %ax, %dx
    incw %dx
    rep insb
    ret

/* The command line to CMDLINE_SEG:0: fw_cfg's opt/testos/cmdline if there is one, else the default. */
get_cmdline:
    movb $0, src_fw
    xorw %ax, %ax
    movw %ax, %es
    movw $fwbuf, %di
    movw $4, %cx
    call fw_read                    /* key 0: signature */
    cmpl $0x554D4551, fwbuf         /* "QEMU" */
    jne use_default
    movw $0x19, %ax                 /* file directory: be32 count, then 64-byte entries */
    movw $fwbuf, %di
    movw $4, %cx
    call fw_read
    movl fwbuf, %ebx
    bswapl %ebx
    cmpl $0x1000, %ebx
    ja use_default
1:  testl %ebx, %ebx
    jz use_default
    decl %ebx
    movw $fwbuf, %di
    movw $64, %cx
    movw $FW_CFG_DATA, %dx
    rep insb
    movw $(fwbuf + 8), %si
    movw $fw_name, %di
    movw $fw_name_len, %cx
    repe cmpsb
    jne 1b
    /* found: size (be32) and select (be16) */
    movl fwbuf, %ecx
    bswapl %ecx
    cmpl $CMDLINE_MAX, %ecx
    jbe 2f
    movl $CMDLINE_MAX, %ecx
2:  movw fwbuf + 4, %ax
    xchgb %al, %ah
    movw $CMDLINE_SEG, %bx
    movw %bx, %es
    xorw %di, %di
    call fw_read
    /* NUL-terminate, dropping a trailing newline of file= contents */
3:  testw %di, %di
    jz 4f
    cmpb $' ', %es:-1(%di)
    ja 4f
    decw %di
    jmp 3b
4:  movb $0, %es:(%di)
    movb $1, src_fw
    ret
use_default:
    movw $CMDLINE_SEG, %ax
    movw %ax, %es
    xorw %di, %di
    movw $default_cmdline, %si
    movw $(0x7F8 - 0x700), %cx
    rep movsb
    movb $0, %es:-1(%di)
    ret

fw_name:    .asciz "opt/testos/cmdline"
    .set fw_name_len, . - fw_name
msg_size:   .asciz "bad kernel size\r\n"
msg_kernel: .asciz "not a bzImage\r\n"
msg_read2:  .asciz "kernel read error ah="
msg_copy:   .asciz "copy error ah="
msg_boot:   .asciz "drive=0x"
msg_sector: .asciz " sector=0x"
msg_default: .asciz " cmdline=default\r\n"
msg_fwcfg:  .asciz " cmdline=fw_cfg\r\n"
msg_nl:     .asciz "\r\n"

    .org 0x6F8, 0
    .ascii "CMDLINE="
default_cmdline:
    .asciz "mode=idle"
    .org 0x7F8, 0
sig:
    .ascii "TESTOSLD"
