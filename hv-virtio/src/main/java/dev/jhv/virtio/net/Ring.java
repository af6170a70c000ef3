package dev.jhv.virtio.net;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.virtio.device.VirtioContext;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.VirtqueueException;

/**
 * The three things the net paths do with a virtqueue, so that the chain handling runs in tests over hand-built
 * chains without a ring in guest memory. Used on the device's I/O thread only.
 */
interface Ring {
    /** The next chain the driver made available, or null. */
    DescriptorChain pop() throws VirtqueueException;

    /** Hands {@code chain} back with {@code written} bytes written into its writable buffers. */
    void push(DescriptorChain chain, int written);

    /** Interrupts the driver for what was pushed, if it wants one. */
    void notifyDriver();

    /** A transport's queue {@code q}. */
    static Ring of(VirtioContext context, int q) {
        var queue = context.queue(q);
        GuestMemory memory = context.memory();
        return new Ring() {
            @Override
            public DescriptorChain pop() throws VirtqueueException {
                return queue.pop(memory);
            }

            @Override
            public void push(DescriptorChain chain, int written) {
                queue.push(memory, chain, written);
            }

            @Override
            public void notifyDriver() {
                context.usedBuffers(q);
            }
        };
    }
}
