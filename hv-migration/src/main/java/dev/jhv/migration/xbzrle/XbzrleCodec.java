package dev.jhv.migration.xbzrle;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * QEMU's XBZRLE encoding of a page against its previous version: alternating runs, first of unchanged bytes (a
 * "zero run", the XOR being zero there) then of changed bytes, each run's length a ULEB128, the changed bytes
 * literal. The first zero run may be empty; every other run has at least one byte; an unchanged tail is not encoded.
 * An encoding that would not fit its limit is an overflow: the page is then sent whole.
 * <p>
 * The unchanged runs are found with {@link MemorySegment#mismatch} (vectorised by the JIT); the end of a changed run
 * with a word-at-a-time search for a zero byte in the XOR of eight bytes, so that a dense change costs a few
 * operations per eight bytes, not per byte.
 */
public final class XbzrleCodec {
    /** What {@link #encode} returns when the encoding does not fit its limit (QEMU's overflow). */
    public static final int OVERFLOW = -1;

    private static final ValueLayout.OfLong LE_LONG =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long LOW_BITS = 0x0101_0101_0101_0101L;
    private static final long HIGH_BITS = 0x8080_8080_8080_8080L;

    private XbzrleCodec() { }

    /**
     * Encodes {@code len} bytes of {@code cur} at {@code curOff} against {@code prev} at {@code prevOff} into
     * {@code out} (at most {@code limit} bytes).
     *
     * @return the encoded length, 0 for an unchanged page, or {@link #OVERFLOW}
     */
    public static int encode(MemorySegment prev, long prevOff, MemorySegment cur, long curOff, int len,
                             byte[] out, int limit) {
        int i = 0;
        int d = 0;
        while (i < len) {
            long m = MemorySegment.mismatch(prev, prevOff + i, prevOff + len, cur, curOff + i, curOff + len);
            if (m < 0) {
                break; // the rest is unchanged: not encoded
            }
            int changed = i + (int) m;
            int end = changedRunEnd(prev, prevOff, cur, curOff, changed + 1, len);
            int zrun = changed - i;
            int nzrun = end - changed;
            if (d + ulebSize(zrun) + ulebSize(nzrun) + nzrun > limit) {
                return OVERFLOW;
            }
            d = putUleb(out, d, zrun);
            d = putUleb(out, d, nzrun);
            MemorySegment.copy(cur, ValueLayout.JAVA_BYTE, curOff + changed, out, d, nzrun);
            d += nzrun;
            i = end;
        }
        return d;
    }

    /** The first index at or after {@code from} (below {@code len}) where the two pages agree, or {@code len}. */
    private static int changedRunEnd(MemorySegment prev, long prevOff, MemorySegment cur, long curOff, int from,
                                     int len) {
        int j = from;
        for (; j + 8 <= len; j += 8) {
            long x = prev.get(LE_LONG, prevOff + j) ^ cur.get(LE_LONG, curOff + j);
            long zeroBytes = (x - LOW_BITS) & ~x & HIGH_BITS;
            if (zeroBytes != 0) {
                // the lowest flagged byte is exactly the first zero byte (false flags only sit above a true one)
                return j + (Long.numberOfTrailingZeros(zeroBytes) >>> 3);
            }
        }
        for (; j < len; j++) {
            if (prev.get(ValueLayout.JAVA_BYTE, prevOff + j) == cur.get(ValueLayout.JAVA_BYTE, curOff + j)) {
                return j;
            }
        }
        return len;
    }

    static int ulebSize(int v) {
        return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x20_0000 ? 3 : v < 0x1000_0000 ? 4 : 5;
    }

    private static int putUleb(byte[] out, int d, int v) {
        while (v >= 0x80) {
            out[d++] = (byte) (v | 0x80);
            v >>>= 7;
        }
        out[d++] = (byte) v;
        return d;
    }

    /** Why an encoding cannot be applied, for the person reading the monitor. */
    public static final class DecodeException extends IllegalArgumentException {
        DecodeException(String message) {
            super(message);
        }
    }

    /**
     * Applies {@code len} encoded bytes of {@code src} at {@code srcOff} to the {@code pageSize} bytes of
     * {@code dst} at {@code dstOff}, which hold the previous version of the page. The encoding is untrusted: every
     * run is checked against both the encoding and the page before a byte is written past it.
     *
     * @throws DecodeException naming what is wrong and at which encoded offset
     */
    public static void decode(byte[] src, int srcOff, int len, MemorySegment dst, long dstOff, int pageSize) {
        int i = 0;
        int d = 0;
        while (i < len) {
            int zat = i;
            long zrun = uleb(src, srcOff, len, i, "unchanged run");
            i += ulebLength(src, srcOff, i);
            if (zrun == 0 && zat > 0) {
                throw new DecodeException("empty unchanged run at encoded byte " + zat + " (only the first may be)");
            }
            if (d + zrun > pageSize) {
                throw new DecodeException("unchanged run of " + zrun + " bytes at page byte " + d
                        + " passes the page end (" + pageSize + ")");
            }
            d += (int) zrun;
            if (i >= len) {
                throw new DecodeException("the encoding ends after an unchanged run (" + len + " bytes)");
            }
            int at = i;
            long nzrun = uleb(src, srcOff, len, i, "changed run");
            i += ulebLength(src, srcOff, i);
            if (nzrun == 0) {
                throw new DecodeException("empty changed run at encoded byte " + at);
            }
            if (d + nzrun > pageSize) {
                throw new DecodeException("changed run of " + nzrun + " bytes at page byte " + d
                        + " passes the page end (" + pageSize + ")");
            }
            if (i + nzrun > len) {
                throw new DecodeException("changed run of " + nzrun + " bytes at encoded byte " + at
                        + " passes the encoding's end (" + len + " bytes)");
            }
            MemorySegment.copy(src, srcOff + i, dst, ValueLayout.JAVA_BYTE, dstOff + d, (int) nzrun);
            d += (int) nzrun;
            i += (int) nzrun;
        }
    }

    /** A ULEB128 of at most two bytes (a run within a page) at encoded byte {@code i}. */
    private static long uleb(byte[] src, int srcOff, int len, int i, String what) {
        int b0 = src[srcOff + i] & 0xff;
        if (b0 < 0x80) {
            return b0;
        }
        if (i + 1 >= len) {
            throw new DecodeException("the " + what + " length at encoded byte " + i + " is cut off by the end");
        }
        int b1 = src[srcOff + i + 1] & 0xff;
        if (b1 >= 0x80) {
            throw new DecodeException("the " + what + " length at encoded byte " + i
                    + " is longer than two bytes (no run in a page is that long)");
        }
        return (b0 & 0x7f) | (long) b1 << 7;
    }

    private static int ulebLength(byte[] src, int srcOff, int i) {
        return (src[srcOff + i] & 0x80) == 0 ? 1 : 2;
    }
}
