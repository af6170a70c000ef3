package dev.jhv.core.bus;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * An address space of non-overlapping ranges, each served by one {@link BusHandler}.
 * Lookups are lock-free; registration and removal may happen while vCPUs run (PCI BAR moves).
 * An access that hits no range reads as all ones and writes are dropped, as on a PC.
 */
public abstract sealed class Bus permits IoBus, MmioBus {
    /** One registered range. */
    public record Range(long base, long length, String name, BusHandler handler) {
        boolean contains(long addr) {
            return addr - base >= 0 && addr - base < length;
        }
    }

    private final ConcurrentSkipListMap<Long, Range> ranges = new ConcurrentSkipListMap<>();
    private final String busName;

    protected Bus(String busName) {
        this.busName = busName;
    }

    public synchronized void register(long base, long length, String name, BusHandler handler) {
        if (length <= 0) {
            throw new IllegalArgumentException(busName + ": empty range for " + name);
        }
        var below = ranges.floorEntry(base + length - 1);
        if (below != null && below.getValue().base() + below.getValue().length() > base) {
            var other = below.getValue();
            throw new IllegalArgumentException(String.format(
                    "%s: %s at 0x%x+0x%x overlaps %s at 0x%x+0x%x",
                    busName, name, base, length, other.name(), other.base(), other.length()));
        }
        ranges.put(base, new Range(base, length, name, handler));
    }

    public synchronized boolean unregister(long base) {
        return ranges.remove(base) != null;
    }

    /** The range holding {@code addr}, or null. */
    public Range find(long addr) {
        Map.Entry<Long, Range> e = ranges.floorEntry(addr);
        if (e == null || !e.getValue().contains(addr)) {
            return null;
        }
        return e.getValue();
    }

    public long read(long addr, int size) {
        Range r = find(addr);
        if (r == null) {
            return size == 8 ? -1L : (1L << (size * 8)) - 1;
        }
        return r.handler().read(addr - r.base(), size);
    }

    /** Returns false when no device claimed the address. */
    public boolean write(long addr, int size, long value) {
        Range r = find(addr);
        if (r == null) {
            return false;
        }
        r.handler().write(addr - r.base(), size, value);
        return true;
    }

    public java.util.Collection<Range> ranges() {
        return java.util.List.copyOf(ranges.values());
    }
}
