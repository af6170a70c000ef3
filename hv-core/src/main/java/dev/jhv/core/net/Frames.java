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

    /** A backend starts once: {@code previous} is its receiver so far. */
    static void checkNotStarted(String id, NetBackend.Receiver previous) {
        if (previous != null) {
            throw new IllegalStateException(id + ": started twice");
        }
    }

    /** Runs a backend's loop on a platform thread named after the netdev. */
    static Thread startLoop(String id, Runnable loop) {
        return Thread.ofPlatform().daemon().name("jhv-net-" + id).start(loop);
    }

    /** Logs a backend's first dropped frame only: a guest can cause them by the thousand, one line says it. */
    static final class DropLog {
        private final System.Logger log;
        private final String id;
        private volatile boolean logged;

        DropLog(System.Logger log, String id) {
            this.log = log;
            this.id = id;
        }

        void drop(String why) {
            if (!logged) {
                logged = true;
                log.log(System.Logger.Level.WARNING, "{0}: frames dropped: {1}", id, why);
            }
        }
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
