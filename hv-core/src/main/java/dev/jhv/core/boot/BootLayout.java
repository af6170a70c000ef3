package dev.jhv.core.boot;

/**
 * Where the boot structures live in guest memory. All of them sit in conventional memory below the EBDA
 * (0x9FC00), well away from the kernel at 1 MiB and from the ACPI tables at 0xE0000:
 *
 * <pre>
 *   0x00500  GDT (null, null, code 0x10, data 0x18, TSS 0x20)
 *   0x00540  IDT (empty: limit 0; the kernel installs its own before enabling interrupts)
 *   0x06000  PVH hvm_start_info, then its module list (0x6040) and memory map (0x6080)
 *   0x07000  Linux boot_params ("zero page"), 4 KiB
 *   0x08000  boot stack page, RSP starts at 0x8FF0
 *   0x09000  PML4, 0x0A000 PDPT, 0x0B000-0x0EFFF four page directories (2 MiB pages, identity map of 4 GiB)
 *   0x20000  kernel command line, NUL-terminated, at most 64 KiB
 *   0xE0000  ACPI tables (see dev.jhv.core.acpi), reserved in e820
 *  0x100000  kernel (bzImage protected-mode part, or the PVH ELF's segments at their physical addresses)
 *  high RAM  initrd, 4 KiB aligned, as high as the kernel's limits allow below the end of low RAM
 * </pre>
 */
public final class BootLayout {
    private BootLayout() { }

    public static final long GDT_ADDR = 0x500;
    public static final long IDT_ADDR = 0x540;
    public static final long PVH_START_INFO_ADDR = 0x6000;
    public static final long PVH_MODLIST_ADDR = 0x6040;
    public static final long PVH_MEMMAP_ADDR = 0x6080;
    public static final long ZERO_PAGE_ADDR = 0x7000;
    public static final long BOOT_STACK_TOP = 0x8FF0;
    public static final long PML4_ADDR = 0x9000;
    public static final long PDPT_ADDR = 0xA000;
    public static final long PD_ADDR = 0xB000;
    public static final long CMDLINE_ADDR = 0x20000;
    /** Room for the command line including its NUL. */
    public static final int CMDLINE_AREA = 0x10000;
    public static final long KERNEL_ADDR = 0x10_0000;

    /** GDT selectors, as the Linux boot protocol names them (__BOOT_CS, __BOOT_DS). */
    public static final int BOOT_CS = 0x10;
    public static final int BOOT_DS = 0x18;
    public static final int BOOT_TSS = 0x20;
}
