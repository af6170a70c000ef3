package dev.jhv.virtio.queue;

import dev.jhv.core.memory.GuestMemory;

/**
 * A split virtqueue (virtio 1.2, 2.7): the descriptor table, the available ring the driver fills and the used
 * ring the device fills, at guest addresses the driver gave through the transport. One thread uses a queue at a
 * time (the device's I/O thread); the transport configures it while the device is stopped.
 *
 * <p>API fixed for the devices; the walk is being written (see the virtio issue). Every guest-supplied value is
 * checked: {@link #pop} throws {@link VirtqueueException} for a broken ring and the device then asks for a reset.
 */
public final class Virtqueue {
    /** What a migration carries for one queue (QEMU's VirtQueue fields: size, addresses, last_avail_idx, ...). */
    public record State(int size, boolean enabled, long descAddr, long availAddr, long usedAddr,
                        int lastAvailIdx, int usedIdx, boolean signalledUsedValid, int signalledUsed) { }

    private final int index;
    private final int maxSize;

    /** @param maxSize the largest size the device offers (a power of two, at most 32768) */
    public Virtqueue(int index, int maxSize) {
        this.index = index;
        this.maxSize = maxSize;
    }

    public int index() {
        return index;
    }

    public int maxSize() {
        return maxSize;
    }

    /** The size the driver chose (queue_size), the ring addresses, and whether it is enabled (queue_enable). */
    public void configure(int size, long descAddr, long availAddr, long usedAddr, boolean enabled) {
        throw new UnsupportedOperationException("virtqueue: not written yet");
    }

    /** The negotiated ring features: VIRTIO_F_EVENT_IDX and VIRTIO_F_INDIRECT_DESC. */
    public void setFeatures(boolean eventIdx, boolean indirect) {
        throw new UnsupportedOperationException("virtqueue: not written yet");
    }

    public boolean isEnabled() {
        throw new UnsupportedOperationException("virtqueue: not written yet");
    }

    /** The next available chain, or null when the driver has made none available since the last pop. */
    public DescriptorChain pop(GuestMemory memory) throws VirtqueueException {
        throw new UnsupportedOperationException("virtqueue: not written yet");
    }

    /**
     * Puts {@code chain} in the used ring with {@code written} bytes written by the device, and publishes the used
     * index. Marks the written bytes and the used ring in the memory's write tracking.
     */
    public void push(GuestMemory memory, DescriptorChain chain, int written) {
        throw new UnsupportedOperationException("virtqueue: not written yet");
    }

    /**
     * Whether the driver wants an interrupt for what was pushed since the last call (VIRTQ_AVAIL_F_NO_INTERRUPT,
     * or used_event with EVENT_IDX).
     */
    public boolean needsInterrupt(GuestMemory memory) {
        throw new UnsupportedOperationException("virtqueue: not written yet");
    }

    /**
     * Asks the driver not to notify (polling) or to notify again (VIRTQ_USED_F_NO_NOTIFY, or avail_event with
     * EVENT_IDX). After enabling, the caller pops again: a chain may have arrived in between.
     */
    public void setNotifications(GuestMemory memory, boolean enabled) {
        throw new UnsupportedOperationException("virtqueue: not written yet");
    }

    /** Back to the reset state (size = max, disabled, addresses 0, indices 0). */
    public void reset() {
        throw new UnsupportedOperationException("virtqueue: not written yet");
    }

    public State state() {
        throw new UnsupportedOperationException("virtqueue: not written yet");
    }

    /** Restores a migrated queue; a state no queue of this size can have is refused with IllegalArgumentException. */
    public void restore(State state) {
        throw new UnsupportedOperationException("virtqueue: not written yet");
    }
}
