package dev.jhv.virtio.device;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.virtio.queue.Virtqueue;

/** What the transport gives an activated device. */
public interface VirtioContext {
    GuestMemory memory();

    Virtqueue queue(int q);

    /** The negotiated feature bits. */
    long features();

    /** Used buffers were pushed on queue {@code q}: interrupts the driver if the queue says it wants one. */
    void usedBuffers(int q);

    /** The configuration space changed (link status, capacity): a configuration interrupt. */
    void configChanged();

    /**
     * The driver broke the rules (a bad ring, an unusable request layout): sets DEVICE_NEEDS_RESET, sends the
     * configuration interrupt, logs {@code reason} once; the device stops processing until reset.
     */
    void needsReset(String reason);

    /** Runs {@code task} on the device's I/O thread (completions from other threads hand back here). */
    void execute(Runnable task);
}
