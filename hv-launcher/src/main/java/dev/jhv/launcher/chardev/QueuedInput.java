package dev.jhv.launcher.chardev;

import java.util.Arrays;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Input a front end takes from its chardev at once and handles later on its own executor (a monitor, whose long
 * commands must not hold the chardev's I/O thread), bounded: past {@link #MAX_QUEUED} bytes waiting the front end
 * reports no room, so the chardev holds back, and it is told when there is room again.
 */
public final class QueuedInput {
    /** Input taken but not yet handled, past which the chardev holds back (a long command, a flood). */
    public static final int MAX_QUEUED = 64 * 1024;

    private final Chardev chardev;
    private final Executor executor;
    private final Consumer<byte[]> handler;
    private final AtomicInteger queued = new AtomicInteger();

    /** @param handler runs on {@code executor}, one chunk at a time, in order */
    public QueuedInput(Chardev chardev, Executor executor, Consumer<byte[]> handler) {
        this.chardev = chardev;
        this.executor = executor;
        this.handler = handler;
    }

    /** What {@code CharFrontend.canReceive} answers. */
    public int room() {
        return Math.max(0, MAX_QUEUED - queued.get());
    }

    /** What {@code CharFrontend.receive} does: copy, queue, handle on the executor. */
    public void take(byte[] data, int offset, int length) {
        byte[] copy = Arrays.copyOfRange(data, offset, offset + length);
        queued.addAndGet(length);
        executor.execute(() -> {
            try {
                handler.accept(copy);
            } finally {
                if (queued.addAndGet(-copy.length) + copy.length >= MAX_QUEUED) {
                    chardev.frontendReady(); // it held back: there is room again
                }
            }
        });
    }
}
