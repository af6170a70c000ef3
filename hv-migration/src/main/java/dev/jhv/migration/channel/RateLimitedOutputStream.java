package dev.jhv.migration.channel;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.locks.LockSupport;

/**
 * The wire under a migration stream: caps the bytes per second (QEMU's max-bandwidth, in 100 ms windows, a change
 * taking effect in the next window), counts what went out, and stamps the time of the last progress so that a
 * stalled link can be told from a slow one.
 */
public final class RateLimitedOutputStream extends OutputStream {
    private static final long WINDOW_NANOS = 100_000_000L;
    private static final int CHUNK = 64 * 1024;

    /** Where time comes from and how the limiter waits: the system's, or a test's. */
    public interface Clock {
        long nanoTime();

        void parkNanos(long nanos);

        Clock SYSTEM = new Clock() {
            @Override
            public long nanoTime() {
                return System.nanoTime();
            }

            @Override
            public void parkNanos(long nanos) {
                LockSupport.parkNanos(nanos);
            }
        };
    }

    private final OutputStream out;
    private final Clock clock;
    private volatile long bytesPerSecond;
    private volatile long written;
    private volatile long lastProgressNanos;
    private long windowStart;
    private long windowBytes;

    /** @param bytesPerSecond 0: no cap */
    public RateLimitedOutputStream(OutputStream out, long bytesPerSecond) {
        this(out, bytesPerSecond, Clock.SYSTEM);
    }

    public RateLimitedOutputStream(OutputStream out, long bytesPerSecond, Clock clock) {
        this.out = out;
        this.bytesPerSecond = bytesPerSecond;
        this.clock = clock;
        this.lastProgressNanos = clock.nanoTime();
        this.windowStart = lastProgressNanos;
    }

    public void setRate(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    /** Bytes handed to the wire so far. */
    public long written() {
        return written;
    }

    public long lastProgressNanos() {
        return lastProgressNanos;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            int n = Math.min(len, CHUNK);
            n = (int) Math.min(n, admit(n));
            out.write(b, off, n);
            written += n;
            lastProgressNanos = clock.nanoTime();
            off += n;
            len -= n;
        }
    }

    /** Waits until the current window has room; returns how many of {@code want} bytes may go now (at least 1). */
    private long admit(int want) throws IOException {
        long rate = bytesPerSecond;
        if (rate <= 0) {
            return want;
        }
        long perWindow = Math.max(1, rate / 10);
        while (true) {
            long now = clock.nanoTime();
            if (now - windowStart >= WINDOW_NANOS) {
                windowStart = now;
                windowBytes = 0;
            }
            long room = perWindow - windowBytes;
            if (room > 0) {
                long n = Math.min(room, want);
                windowBytes += n;
                return n;
            }
            // the rest of the window: this is the cap itself, not a wait for another thread
            clock.parkNanos(windowStart + WINDOW_NANOS - now);
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("migration cancelled");
            }
            lastProgressNanos = clock.nanoTime(); // waiting on the cap is not a stall
        }
    }

    @Override
    public void flush() throws IOException {
        out.flush();
        lastProgressNanos = clock.nanoTime();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
