package dev.jhv.core.boot;

import java.util.ArrayList;
import java.util.List;

/**
 * The guest-physical layout of a PC: RAM from 0 up to the PCI hole at 3 GiB, the rest of RAM continuing at 4 GiB.
 * Gives the RAM ranges to back with KVM memory slots and the e820 table the firmware would report.
 */
public final class MemoryMap {
    public static final long KIB = 1024;
    public static final long MIB = 1024 * KIB;
    public static final long GIB = 1024 * MIB;

    /** Start of the 32-bit PCI hole; RAM beyond this moves above 4 GiB. */
    public static final long PCI_HOLE_START = 0xC000_0000L;
    public static final long FOUR_GIB = 4 * GIB;
    public static final long IOAPIC_BASE = 0xFEC0_0000L;
    public static final long LAPIC_BASE = 0xFEE0_0000L;
    /** Extended BIOS data area: the top 1 KiB of conventional memory, reserved. */
    public static final long EBDA_START = 0x9FC00;
    public static final long CONVENTIONAL_END = 0xA0000;
    /** The upper BIOS area where the ACPI tables live (reserved in e820, scanned for the RSDP). */
    public static final long BIOS_AREA_START = 0xE0000;
    public static final long HIGH_MEMORY_START = 0x10_0000;

    /** Smallest guest RAM this layout makes sense for: the tables below 1 MiB plus a little above. */
    public static final long MIN_RAM = 2 * MIB;

    /** An e820 entry type (Linux boot protocol / ACPI address range types). */
    public enum E820Type {
        RAM(1), RESERVED(2), ACPI(3), NVS(4);

        public final int code;

        E820Type(int code) {
            this.code = code;
        }
    }

    /** One e820 table entry: [start, start + size). */
    public record E820Entry(long start, long size, E820Type type) {
        public long end() {
            return start + size;
        }
    }

    /** A guest-physical RAM range to back with one KVM memory slot. */
    public record RamRange(long gpa, long size) {
        public long end() {
            return gpa + size;
        }
    }

    private final long ramSize;
    private final long lowEnd;
    private final long highSize;

    public MemoryMap(long ramSize) {
        if (ramSize < MIN_RAM) {
            throw new IllegalArgumentException("guest RAM of " + ramSize + " bytes is below the minimum of "
                    + (MIN_RAM >> 20) + " MiB");
        }
        this.ramSize = ramSize;
        this.lowEnd = Math.min(ramSize, PCI_HOLE_START);
        this.highSize = ramSize - lowEnd;
    }

    public long ramSize() {
        return ramSize;
    }

    /** End (exclusive) of RAM below 4 GiB. */
    public long lowMemoryEnd() {
        return lowEnd;
    }

    /** Bytes of RAM above 4 GiB (0 if all RAM fits below the PCI hole). */
    public long highMemorySize() {
        return highSize;
    }

    /** The RAM ranges to map, in address order: [0, lowEnd) and, if any, [4 GiB, 4 GiB + rest). */
    public List<RamRange> ramRanges() {
        var out = new ArrayList<RamRange>();
        out.add(new RamRange(0, lowEnd));
        if (highSize > 0) {
            out.add(new RamRange(FOUR_GIB, highSize));
        }
        return List.copyOf(out);
    }

    /** The e820 table, in address order. */
    public List<E820Entry> e820() {
        var out = new ArrayList<E820Entry>();
        out.add(new E820Entry(0, EBDA_START, E820Type.RAM));
        out.add(new E820Entry(EBDA_START, CONVENTIONAL_END - EBDA_START, E820Type.RESERVED));
        out.add(new E820Entry(BIOS_AREA_START, HIGH_MEMORY_START - BIOS_AREA_START, E820Type.RESERVED));
        if (lowEnd > HIGH_MEMORY_START) {
            out.add(new E820Entry(HIGH_MEMORY_START, lowEnd - HIGH_MEMORY_START, E820Type.RAM));
        }
        if (highSize > 0) {
            out.add(new E820Entry(FOUR_GIB, highSize, E820Type.RAM));
        }
        return List.copyOf(out);
    }
}
