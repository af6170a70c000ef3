package dev.jhv.core.block;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Block I/O with many requests in flight: each call submits one request and returns at once; its {@link Completion}
 * runs later on one of the engine's threads (never on the caller's), exactly once, also when the request failed.
 * The buffers are views of guest memory that the caller keeps valid until the completion ran. Implementations are
 * safe for use by several threads.
 */
public interface AsyncBlockIo extends AutoCloseable {
    /** The end of one request: {@code error} is null when it succeeded. */
    @FunctionalInterface
    interface Completion {
        void completed(IOException error);
    }

    /** The device the requests go to. */
    BlockDevice device();

    /** Fills {@code buffers}, in order, from the disk bytes starting at {@code offset}. */
    void read(long offset, List<MemorySegment> buffers, Completion done);

    /** Writes {@code buffers}, in order, to the disk starting at {@code offset}. */
    void write(long offset, List<MemorySegment> buffers, Completion done);

    void writeZeroes(long offset, long length, Completion done);

    void discard(long offset, long length, Completion done);

    /** Makes every write that completed before this call durable. */
    void flush(Completion done);

    /** The name of the engine for messages ("thread pool", "io_uring"). */
    String engineName();

    /** Waits for the requests in flight to complete, then releases the engine's threads (not the device). */
    @Override
    void close();

    /**
     * The engine for {@code device}: io_uring for a raw file where the host allows it (with a pool of
     * {@code threads} for what io_uring does not take), else a pool of {@code threads} threads named after
     * {@code name}.
     */
    static AsyncBlockIo open(BlockDevice device, String name, int threads) {
        if (device instanceof RawFileBlockDevice raw && IoUringBlockIo.available()) {
            try {
                return new IoUringBlockIo(raw, name, threads);
            } catch (IOException e) {
                System.getLogger(AsyncBlockIo.class.getName()).log(System.Logger.Level.INFO,
                        device.describe() + ": io_uring unavailable (" + e.getMessage() + "), using threads");
            }
        }
        return new ThreadPoolBlockIo(device, name, threads);
    }
}
