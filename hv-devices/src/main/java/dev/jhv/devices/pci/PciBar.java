package dev.jhv.devices.pci;

import dev.jhv.core.bus.BusHandler;

/**
 * One base address register and what it decodes. The register's write mask makes sizing work: writing all ones
 * reads back {@code ~(size - 1)} with the type bits. The BAR decodes while the command register enables its
 * space and it holds a usable address (not 0, not wrapping, I/O below 64 KiB, 32-bit memory below 4 GiB).
 */
public final class PciBar {
    public enum Kind { IO, MEMORY32, MEMORY64, ROM }

    static final int ROM_INDEX = 6;
    static final int ROM_ENABLE = 1;
    private static final int IO_TYPE = 0x1;
    private static final int MEMORY64_TYPE = 0x4;
    private static final int PREFETCHABLE = 0x8;

    private final int index;
    private final Kind kind;
    private final long size;
    private final boolean prefetchable;
    final PciWindow window;

    PciBar(int index, Kind kind, long size, boolean prefetchable, String name, BusHandler handler) {
        long minimum = switch (kind) {
            case IO -> 4;
            case MEMORY32, MEMORY64 -> 16;
            case ROM -> 2048;
        };
        long maximum = switch (kind) {
            case IO -> 256;            // PCI 3.0: an I/O BAR asks for at most 256 bytes
            case MEMORY32, ROM -> 1L << 31;
            case MEMORY64 -> 1L << 62;
        };
        if (Long.bitCount(size) != 1 || size < minimum || size > maximum) {
            throw new IllegalArgumentException(name + ": " + kind + " BAR size 0x" + Long.toHexString(size)
                    + " is not a power of two in 0x" + Long.toHexString(minimum) + "..0x" + Long.toHexString(maximum));
        }
        int last = kind == Kind.MEMORY64 ? index + 1 : index;
        if (kind == Kind.ROM ? index != ROM_INDEX : index < 0 || last > 5) {
            throw new IllegalArgumentException(name + ": no BAR" + index + " for a " + kind + " BAR");
        }
        this.index = index;
        this.kind = kind;
        this.size = size;
        this.prefetchable = prefetchable;
        this.window = new PciWindow(name, kind == Kind.IO ? PciWindow.Space.IO : PciWindow.Space.MEMORY, size,
                handler);
    }

    public int index() {
        return index;
    }

    public Kind kind() {
        return kind;
    }

    public long size() {
        return size;
    }

    public boolean prefetchable() {
        return prefetchable;
    }

    /** Where the BAR is registered on its bus, or -1. */
    public long mappedAddress() {
        return window.base();
    }

    /** The register's offset in configuration space. */
    public int register() {
        return kind == Kind.ROM ? PciConfigSpace.ROM_ADDRESS : PciConfigSpace.BAR0 + 4 * index;
    }

    /** Puts the type bits and the write mask in {@code config}; the address starts as 0. */
    void install(PciConfigSpace config) {
        int reg = register();
        switch (kind) {
            case IO -> {
                config.set32(reg, IO_TYPE);
                config.setWriteMask(reg, 4, (int) ~(size - 1) & ~0x3);
            }
            case MEMORY32 -> {
                config.set32(reg, prefetchable ? PREFETCHABLE : 0);
                config.setWriteMask(reg, 4, (int) ~(size - 1) & ~0xf);
            }
            case MEMORY64 -> {
                config.set32(reg, MEMORY64_TYPE | (prefetchable ? PREFETCHABLE : 0));
                config.set32(reg + 4, 0);
                long mask = ~(size - 1);
                config.setWriteMask(reg, 4, (int) mask & ~0xf);
                config.setWriteMask(reg + 4, 4, (int) (mask >>> 32));
            }
            case ROM -> {
                config.set32(reg, 0);
                config.setWriteMask(reg, 4, ((int) ~(size - 1) & ~0x7ff) | ROM_ENABLE);
            }
        }
    }

    /** The address the registers hold (type and enable bits off). */
    long registerAddress(PciConfigSpace config) {
        int reg = register();
        long low = config.get32(reg) & 0xffffffffL;
        return switch (kind) {
            case IO -> low & ~0x3L;
            case MEMORY32 -> low & ~0xfL;
            case MEMORY64 -> (low & ~0xfL) | ((config.get32(reg + 4) & 0xffffffffL) << 32);
            case ROM -> low & ~0x7ffL;
        };
    }

    /** Whether a write to [reg, reg+size) touches this BAR's registers. */
    boolean covers(int reg, int length) {
        int first = register();
        int last = first + (kind == Kind.MEMORY64 ? 8 : 4);
        return reg < last && reg + length > first;
    }

    /** The address the BAR decodes now, or -1 (decode off, no address, or one no bus can take). */
    long decoded(PciConfigSpace config) {
        int command = config.get16(PciConfigSpace.COMMAND);
        boolean on = switch (kind) {
            case IO -> (command & PciConfigSpace.COMMAND_IO) != 0;
            case MEMORY32, MEMORY64 -> (command & PciConfigSpace.COMMAND_MEMORY) != 0;
            case ROM -> (command & PciConfigSpace.COMMAND_MEMORY) != 0
                    && (config.get32(PciConfigSpace.ROM_ADDRESS) & ROM_ENABLE) != 0;
        };
        if (!on) {
            return PciWindow.UNMAPPED;
        }
        long address = registerAddress(config);
        long last = address + size - 1;
        boolean usable = switch (kind) {
            case IO -> address != 0 && last <= 0xffff;
            case MEMORY32, ROM -> address != 0 && last < 0xffffffffL;
            case MEMORY64 -> address != 0 && Long.compareUnsigned(last, address) > 0 && last != -1L;
        };
        return usable ? address : PciWindow.UNMAPPED;
    }
}
