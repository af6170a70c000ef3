package dev.jhv.core.net;

import java.lang.foreign.MemorySegment;
import java.util.List;

/** What the backends share: gathering a frame's parts, and ending their thread. */
final class Frames {
    private Frames() {
    }

    /** Copies {@code parts} one after another to the start of {@code into}; -1 when they do not fit. */
    static long gather(List<MemorySegment> parts, MemorySegment into) {
        long len = 0;
        for (MemorySegment p : parts) {
            if (len + p.byteSize() > into.byteSize()) {
                return -1;
            }
            MemorySegment.copy(p, 0, into, len, p.byteSize());
            len += p.byteSize();
        }
        return len;
    }

    /** Waits for a backend's thread after its stop was signalled; a close from that thread itself does not wait. */
    static void join(Thread thread) {
        if (thread == null || thread == Thread.currentThread()) {
            return;
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
