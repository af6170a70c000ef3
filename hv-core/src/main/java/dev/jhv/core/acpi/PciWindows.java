package dev.jhv.core.acpi;

/**
 * The address windows a board's PCI host bridge forwards to the bus, as its ACPI _CRS describes them: memory
 * from {@code mem32Start} to just below the IOAPIC (0xFEBFFFFF), and, when {@code mem64Length} is not 0, a
 * 64-bit window above 4 GiB. I/O ports, the VGA window and bus numbers are those of every PC.
 */
public record PciWindows(long mem32Start, long mem64Start, long mem64Length) {
    /** The last byte of the 32-bit window: the IOAPIC, HPET and LAPIC pages above it are not PCI's. */
    public static final long MEM32_END = 0xFEBF_FFFFL;
    static final long FOUR_GIB = 1L << 32;

    public PciWindows {
        if (mem32Start < 0x10_0000 || mem32Start > MEM32_END) {
            throw new IllegalArgumentException(String.format("32-bit PCI window start 0x%X is outside 1 MiB-0x%X",
                    mem32Start, MEM32_END));
        }
        if (mem64Length < 0 || (mem64Length > 0 && (mem64Start < FOUR_GIB
                || mem64Start + mem64Length - 1 < mem64Start))) {
            throw new IllegalArgumentException(String.format("bad 64-bit PCI window 0x%X+0x%X",
                    mem64Start, mem64Length));
        }
    }

    /** Only the window below 4 GiB. */
    public static PciWindows below4g(long mem32Start) {
        return new PciWindows(mem32Start, 0, 0);
    }

    boolean hasMem64() {
        return mem64Length > 0;
    }
}
