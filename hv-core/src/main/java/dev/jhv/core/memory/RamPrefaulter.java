package dev.jhv.core.memory;

import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;

/**
 * Backs guest RAM on a second thread ahead of a writer that fills it in address order (a migration load), so that
 * the kernel's page allocation (half the cost of a load into shared anonymous memory) overlaps with the copying.
 * It looks ahead only while the writer fills whole chunks: a sparse writer gets nothing in advance, and at the end
 * of a dense run at most {@link #AHEAD} chunks are backed without being written (they read as zero, as before).
 * MADV_POPULATE_WRITE (Linux 5.14) never changes a page's contents, so racing with the writer is harmless.
 * The thread starts with the first request and ends after {@link #IDLE_NANOS} without one.
 */
public final class RamPrefaulter {
    static final long CHUNK = 2L << 20;
    static final int AHEAD = 4;
    private static final int MADV_POPULATE_WRITE = 23;
    private static final long PAGES_PER_CHUNK = CHUNK / PageResidency.PAGE_SIZE;
    private static final long IDLE_NANOS = 1_000_000_000L;

    private final MemorySegment ram;
    private final String name;
    /** The prefaulting thread, or null when none runs (writer thread only). */
    private Thread thread;
    /** Back [from, to) next (written by the writer, read by the prefaulter). */
    private volatile long from;
    private volatile long to;
    /** Set when MADV_POPULATE_WRITE failed: the kernel cannot do it, stop asking. */
    private volatile boolean unsupported;
    /** The writer's current chunk and how many pages it wrote there (writer thread only). */
    private long writerChunk = -1;
    private long writtenInChunk;

    public RamPrefaulter(MemorySegment ram, String name) {
        this.ram = ram;
        this.name = name;
    }

    /** The writer has just written the page at {@code offset}. */
    public void written(long offset) {
        long chunk = offset / CHUNK;
        if (chunk != writerChunk) {
            writerChunk = chunk;
            writtenInChunk = 0;
        }
        if (++writtenInChunk == PAGES_PER_CHUNK) {
            // a full chunk: the next ones are likely full too
            long start = (chunk + 1) * CHUNK;
            long end = Math.min(ram.byteSize(), (chunk + 1 + AHEAD) * CHUNK);
            if (start < end && !unsupported) {
                from = Math.max(start, Math.min(to, end));
                to = end;
                if (thread == null || !thread.isAlive()) {
                    thread = Thread.ofPlatform().name("prefault-" + name).daemon().start(this::run);
                } else {
                    LockSupport.unpark(thread);
                }
            }
        }
    }

    private void run() {
        long done = 0;
        long idleSince = System.nanoTime();
        while (true) {
            long end = to;
            long start = Math.max(from, done);
            if (start >= end) {
                if (System.nanoTime() - idleSince > IDLE_NANOS) {
                    return;     // the writer starts a new thread if it asks again
                }
                LockSupport.parkNanos(this, IDLE_NANOS);
                continue;
            }
            long stop = Math.min(end, start + CHUNK);
            try {
                Libc.madvise(ram.asSlice(start, stop - start), MADV_POPULATE_WRITE);
            } catch (SysCallException e) {
                unsupported = true;     // an older kernel, or memory it cannot populate: the writer faults as before
                return;
            }
            done = stop;
            idleSince = System.nanoTime();
        }
    }
}
