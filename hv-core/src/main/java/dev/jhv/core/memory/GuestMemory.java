package dev.jhv.core.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.concurrent.atomic.AtomicLongArray;
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
    /** Per region, the pages the VMM wrote since the last take (bit i of word i/64 = page i); null: not tracking. */
    private volatile AtomicLongArray[] written;

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
        markWritten(gpa, len);
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
        markWritten(gpa, len);
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
        markWritten(gpa, 8);
    }

    public void writeInt(long gpa, int v) {
        slice(gpa, 4).set(INT, 0, v);
        markWritten(gpa, 4);
    }

    public void writeShort(long gpa, int v) {
        slice(gpa, 2).set(SHORT, 0, (short) v);
        markWritten(gpa, 2);
    }

    public void writeByte(long gpa, int v) {
        slice(gpa, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) v);
        markWritten(gpa, 1);
    }

    // ---- pages written by the VMM (device DMA, loaders), which KVM's dirty log does not see ----

    /** Starts recording which pages the VMM writes through this object or reports with {@link #markWritten}. */
    public void startWriteTracking() {
        var w = new AtomicLongArray[regions.length];
        for (int i = 0; i < regions.length; i++) {
            w[i] = new AtomicLongArray((int) ((regions[i].size() / PAGE_SIZE + 63) / 64));
        }
        written = w;
    }

    public void stopWriteTracking() {
        written = null;
    }

    /**
     * Records that the VMM wrote [gpa, gpa+len) by other means than this object's writers (a DMA slice): devices
     * call it after writing guest memory, so that a migration sends those pages again. Outside RAM: ignored.
     */
    public void markWritten(long gpa, long len) {
        var w = written;
        if (w == null || len <= 0) {
            return;
        }
        for (int i = 0; i < regions.length; i++) {
            Region r = regions[i];
            if (r.contains(gpa, len)) {
                long first = (gpa - r.gpa()) / PAGE_SIZE;
                long last = (gpa - r.gpa() + len - 1) / PAGE_SIZE;
                for (long p = first; p <= last; p++) {
                    int word = (int) (p >>> 6);
                    long bit = 1L << p;
                    w[i].getAndUpdate(word, v -> v | bit);
                }
                return;
            }
        }
    }

    /** The pages the VMM wrote in region {@code index} (as {@link #regions()} lists them) since the last take. */
    public long[] takeWritten(int index) {
        var w = written;
        long[] out = new long[(int) ((regions[index].size() / PAGE_SIZE + 63) / 64)];
        if (w != null) {
            for (int j = 0; j < out.length; j++) {
                out[j] = w[index].getAndSet(j, 0);
            }
        }
        return out;
    }

    /** The page size of the dirty log and of migration: 4 KiB. */
    public static final long PAGE_SIZE = 4096;
}
