package dev.jhv.qcow2.cluster;

/** Bit layout of L1 and L2 table entries (standard, not extended, L2 entries). */
public final class L2Entry {
    private L2Entry() {}

    public static final long COPIED = 1L << 63;
    public static final long COMPRESSED = 1L << 62;
    public static final long ZERO = 1L;
    public static final long OFFSET_MASK = 0x00fffffffffffe00L;

    public enum Type { UNALLOCATED, ZERO_PLAIN, ZERO_ALLOC, NORMAL, COMPRESSED }

    public static Type type(long e, boolean v3) {
        if ((e & COMPRESSED) != 0) return Type.COMPRESSED;
        if (v3 && (e & ZERO) != 0) return (e & OFFSET_MASK) != 0 ? Type.ZERO_ALLOC : Type.ZERO_PLAIN;
        return (e & OFFSET_MASK) != 0 ? Type.NORMAL : Type.UNALLOCATED;
    }

    public static long offset(long e) {
        return e & OFFSET_MASK;
    }

    /** Host byte offset of compressed data. */
    public static long compressedOffset(long e, int clusterBits) {
        int x = 62 - (clusterBits - 8);
        return e & ((1L << x) - 1);
    }

    /** Bytes the compressed data may occupy, counted as QEMU does from whole 512-byte sectors. */
    public static int compressedSize(long e, int clusterBits) {
        int x = 62 - (clusterBits - 8);
        long sectors = ((e >>> x) & ((1L << (clusterBits - 8)) - 1)) + 1;
        return (int) (sectors * 512 - (compressedOffset(e, clusterBits) & 511));
    }

    public static long compressed(long hostOffset, int length, int clusterBits) {
        int x = 62 - (clusterBits - 8);
        long sectors = ((hostOffset & 511) + length + 511) / 512;
        return COMPRESSED | ((sectors - 1) << x) | hostOffset;
    }
}
