package dev.jhv.virtio.net;

/** The ones' complement sum of RFC 1071, over 16-bit big-endian words. */
final class InternetChecksum {
    private InternetChecksum() {
    }

    /** The unfolded sum of {@code len} bytes at {@code off}; an odd last byte counts as its word's high half. */
    static long sum(byte[] b, int off, int len) {
        long s = 0;
        int i = off;
        int end = off + len;
        for (; i + 1 < end; i += 2) {
            s += (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
        }
        if (i < end) {
            s += (b[i] & 0xff) << 8;
        }
        return s;
    }

    /** Folds the carries back into 16 bits. */
    static int fold(long s) {
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }
}
