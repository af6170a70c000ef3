package dev.jhv.core.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The guest-physical address space: RAM regions backed by MemorySegments.
 * Every access is bounds-checked: guest-supplied addresses are untrusted.
 */
public class GuestMemory {
    /** A contiguous RAM region at a guest-physical address. */
    public record Region(long gpa, MemorySegment segment) {
        public long size() {
            return segment.byteSize();
        }

        public long end() {
            return gpa + segment.byteSize();
        }

        boolean contains(long addr, long len) {
            return addr >= gpa && len >= 0 && addr - gpa <= size() - len;
        }
    }

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final Region[] regions;

    public GuestMemory(List<Region> regions) {
        var sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.comparingLong(Region::gpa));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).gpa() < sorted.get(i - 1).end()) {
                throw new IllegalArgumentException("overlapping RAM regions");
            }
        }
        this.regions = sorted.toArray(Region[]::new);
    }

    public List<Region> regions() {
        return List.of(regions);
    }

    /** Total RAM in bytes. */
    public long totalSize() {
        long t = 0;
        for (Region r : regions) {
            t += r.size();
        }
        return t;
    }

    /** Whether [gpa, gpa+len) lies inside one RAM region. */
    public boolean isRam(long gpa, long len) {
        return regionFor(gpa, len) != null;
    }

    private Region regionFor(long gpa, long len) {
        for (Region r : regions) {
            if (r.contains(gpa, len)) {
                return r;
            }
        }
        return null;
    }

    /** A view of guest RAM; fails if the range is not wholly inside one region. */
    public MemorySegment slice(long gpa, long len) {
        Region r = regionFor(gpa, len);
        if (r == null) {
            throw new GuestMemoryException(String.format(
                    "guest address 0x%x+0x%x is outside RAM", gpa, len));
        }
        return r.segment().asSlice(gpa - r.gpa(), len);
    }

    public void write(long gpa, byte[] data) {
        write(gpa, data, 0, data.length);
    }

    public void write(long gpa, byte[] data, int off, int len) {
        MemorySegment.copy(data, off, slice(gpa, len), ValueLayout.JAVA_BYTE, 0, len);
    }

    public void read(long gpa, byte[] dst, int off, int len) {
        MemorySegment.copy(slice(gpa, len), ValueLayout.JAVA_BYTE, 0, dst, off, len);
    }

    public byte[] read(long gpa, int len) {
        byte[] b = new byte[len];
        read(gpa, b, 0, len);
        return b;
    }

    public void fill(long gpa, long len, byte value) {
        slice(gpa, len).fill(value);
    }

    public long readLong(long gpa) {
        return slice(gpa, 8).get(LONG, 0);
    }

    public int readInt(long gpa) {
        return slice(gpa, 4).get(INT, 0);
    }

    public int readShort(long gpa) {
        return Short.toUnsignedInt(slice(gpa, 2).get(SHORT, 0));
    }

    public int readByte(long gpa) {
        return Byte.toUnsignedInt(slice(gpa, 1).get(ValueLayout.JAVA_BYTE, 0));
    }

    public void writeLong(long gpa, long v) {
        slice(gpa, 8).set(LONG, 0, v);
    }

    public void writeInt(long gpa, int v) {
        slice(gpa, 4).set(INT, 0, v);
    }

    public void writeShort(long gpa, int v) {
        slice(gpa, 2).set(SHORT, 0, (short) v);
    }

    public void writeByte(long gpa, int v) {
        slice(gpa, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) v);
    }
}
