package dev.jhv.virtio.device;

import dev.jhv.core.vmstate.RecordDescription;

/**
 * A virtio device as the transport sees it (virtio 1.2, chapter 5): its type, its feature bits, its queues and its
 * configuration space. The transport (virtio-pci) owns the status, the feature negotiation, the queues' setup and the
 * interrupts; it calls the device on the device's own I/O thread when the guest notifies a queue.
 *
 * <p>The device's own guest-visible state (a MAC filter, a link status) is one record {@code S}, carried inside the
 * transport's migration section. At {@link #pause} a device finishes or holds back every request it took from a
 * queue, so that nothing is in flight while the state is saved (a block request in flight at the pause completes
 * before the pause returns).
 *
 * @param <S> the device's state record ({@link NoState} for a device with none)
 */
public interface VirtioDevice<S extends Record> {
    /** The virtio device ID (1 net, 2 block, 4 entropy). */
    int deviceType();

    /** The name for messages and threads ("virtio-blk"). */
    String name();

    /**
     * The device-specific feature bits it offers (bits 0-23 and 50+). The transport adds VERSION_1, EVENT_IDX and
     * INDIRECT_DESC itself.
     */
    long deviceFeatures();

    int queueCount();

    /** The largest size the device offers for queue {@code q} (a power of two). */
    int queueMaxSize(int q);

    /** The length of the device configuration space in bytes. */
    int configLength();

    /** A little-endian read of {@code size} (1, 2, 4) bytes at {@code offset} in the configuration space. */
    int readConfig(int offset, int size);

    /** A driver write to the configuration space (most devices ignore writes to read-only fields). */
    default void writeConfig(int offset, int size, int value) {
    }

    /**
     * The driver set DRIVER_OK: the features are final and the queues configured. The device may start using
     * {@code context}'s queues from its I/O thread.
     */
    void activate(VirtioContext context, long features);

    /** The guest notified queue {@code q}; runs on the device's I/O thread. */
    void queueNotified(int q);

    /** Device reset (status written 0, or machine reset): stop using the queues and forget the negotiation. */
    void reset();

    /** See the class comment: nothing in flight when this returns. Default: nothing to do. */
    default void pause() {
    }

    default void resume() {
    }

    /** Host resources released (threads, files, backends). */
    default void close() {
    }

    RecordDescription<S> stateDescription();

    S state();

    /** The state of a migrated device; one it cannot hold is refused with IllegalArgumentException. */
    void restore(S state);

    /** The state record of a device with no state of its own. */
    record NoState() {
    }
}
