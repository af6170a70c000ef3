package dev.jhv.virtio.net;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.virtio.queue.GuestBuffer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/** Byte access to a chain's buffers as one run of bytes (the walk already checked that they lie in RAM). */
final class ChainIo {
    private ChainIo() {
    }

    /** One contiguous piece of a run over several buffers: {@code n} bytes at {@code gpa}, {@code done} before it. */
    private interface Piece {
        void at(long gpa, int done, int n);
    }

    /** Walks {@code len} bytes starting {@code offset} bytes into {@code buffers}. @return the bytes walked */
    private static int walk(List<GuestBuffer> buffers, long offset, int len, Piece piece) {
        int done = 0;
        long skip = offset;
        for (GuestBuffer b : buffers) {
            if (done == len) {
                break;
            }
            if (skip >= b.length()) {
                skip -= b.length();
                continue;
            }
            int n = (int) Math.min(b.length() - skip, len - done);
            piece.at(b.gpa() + skip, done, n);
            done += n;
            skip = 0;
        }
        return done;
    }

    /**
     * Copies {@code len} bytes starting {@code offset} bytes into {@code buffers} to {@code dst}. Copying (rather
     * than reading guest memory twice) keeps a header the device checks from changing under it.
     *
     * @return the bytes copied: fewer than {@code len} when the buffers end first
     */
    static int read(GuestMemory memory, List<GuestBuffer> buffers, long offset, byte[] dst, int dstOff, int len) {
        return walk(buffers, offset, len, (gpa, done, n) -> memory.read(gpa, dst, dstOff + done, n));
    }

    /** Views of the bytes of {@code buffers} after the first {@code skip}, in order (nothing copied). */
    static List<MemorySegment> slicesAfter(GuestMemory memory, List<GuestBuffer> buffers, long skip) {
        var out = new ArrayList<MemorySegment>(buffers.size());
        for (GuestBuffer b : buffers) {
            if (skip >= b.length()) {
                skip -= b.length();
                continue;
            }
            out.add(memory.slice(b.gpa() + skip, b.length() - skip));
            skip = 0;
        }
        return out;
    }

    /**
     * Writes {@code len} bytes of {@code src} into {@code buffers} starting {@code offset} bytes in, as far as they
     * reach. Does not mark the pages written: the queue's push marks the used length.
     *
     * @return the bytes written
     */
    static int write(GuestMemory memory, List<GuestBuffer> buffers, long offset, byte[] src, int srcOff, int len) {
        return walk(buffers, offset, len, (gpa, done, n) -> MemorySegment.copy(src, srcOff + done,
                memory.slice(gpa, n), ValueLayout.JAVA_BYTE, 0, n));
    }
}
