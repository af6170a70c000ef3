package dev.jhv.core.block;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The portable engine: a small pool of named platform threads, each running one request at a time as positional
 * calls on the {@link BlockDevice} (which is thread-safe) into ByteBuffers over the guest's memory. It works for
 * every backend (qcow2 with its cluster maps and backing chains included) and on every host; as many requests are
 * in flight as there are threads, and the host's page cache or the O_DIRECT queue does the rest.
 */
public final class ThreadPoolBlockIo implements AsyncBlockIo {
    private static final System.Logger LOG = System.getLogger(ThreadPoolBlockIo.class.getName());

    @FunctionalInterface
    private interface Job {
        void run() throws IOException;
    }

    private final BlockDevice device;
    private final ExecutorService pool;

    /** @param threads how many requests run at once (at least 1) */
    public ThreadPoolBlockIo(BlockDevice device, String name, int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("a block I/O pool needs at least one thread, not " + threads);
        }
        this.device = device;
        var counter = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name + "-io-" + counter.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public BlockDevice device() {
        return device;
    }

    @Override
    public void read(long offset, List<MemorySegment> buffers, Completion done) {
        transfer(offset, buffers, false, done);
    }

    @Override
    public void write(long offset, List<MemorySegment> buffers, Completion done) {
        transfer(offset, buffers, true, done);
    }

    /** One positional call per buffer, each at the disk offset where the previous one ended. */
    private void transfer(long offset, List<MemorySegment> buffers, boolean write, Completion done) {
        submit(done, () -> {
            long pos = offset;
            for (MemorySegment b : buffers) {
                if (write) {
                    device.write(pos, b.asByteBuffer());
                } else {
                    device.read(pos, b.asByteBuffer());
                }
                pos += b.byteSize();
            }
        });
    }

    @Override
    public void writeZeroes(long offset, long length, Completion done) {
        submit(done, () -> device.writeZeroes(offset, length));
    }

    @Override
    public void discard(long offset, long length, Completion done) {
        submit(done, () -> device.discard(offset, length));
    }

    @Override
    public void flush(Completion done) {
        submit(done, device::flush);
    }

    @Override
    public String engineName() {
        return "thread pool";
    }

    private void submit(Completion done, Job job) {
        try {
            pool.execute(() -> {
                IOException error = null;
                try {
                    job.run();
                } catch (IOException e) {
                    error = e;
                } catch (RuntimeException e) {
                    // a backend's bug or a bounds check: the request fails, the engine goes on
                    error = new IOException(device.describe() + ": " + e, e);
                }
                complete(done, error);
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            complete(done, new IOException(device.describe() + ": the block I/O engine is closed"));
        }
    }

    private static void complete(Completion done, IOException error) {
        try {
            done.completed(error);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "block I/O completion failed", e);
        }
    }

    @Override
    public void close() {
        pool.shutdown();
        try {
            while (!pool.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, device.describe() + ": waiting for block requests in flight");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
