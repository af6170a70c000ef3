package dev.jhv.virtio.queue;

/**
 * The driver broke the ring's rules (an address outside RAM, a loop in a chain, a chain longer than the queue, an
 * available index that jumped by more than the queue size): the device must stop using the queue and ask for a
 * reset (DEVICE_NEEDS_RESET). The message names the queue, the descriptor and the rule.
 */
public final class VirtqueueException extends Exception {
    public VirtqueueException(String message) {
        super(message);
    }
}
