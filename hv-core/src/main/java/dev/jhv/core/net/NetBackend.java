package dev.jhv.core.net;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A host end of a guest NIC (-netdev): frames out to the host network and in from it. Implemented by tap, by the
 * stream socket that talks to passt, and by libslirp (user-mode networking).
 *
 * <p>With a vnet header ({@link #vnetHeaderLength} &gt; 0) every frame in both directions starts with a
 * {@code virtio_net_hdr_v1} (12 bytes: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers)
 * and the backend honours the offloads set with {@link #setOffloads}; without one, frames are plain Ethernet and
 * the device must checksum and segment itself.
 */
public interface NetBackend extends AutoCloseable {
    /** The -netdev id. */
    String id();

    /** 12 when frames carry a virtio_net_hdr_v1, 0 for plain frames. */
    int vnetHeaderLength();

    /** Offloads the guest accepts for received frames (TUNSETOFFLOAD); ignored by a backend with no vnet header. */
    default void setOffloads(boolean csum, boolean tso4, boolean tso6, boolean ecn, boolean ufo) {
    }

    /**
     * Sends one frame gathered from {@code parts} (host or guest memory). Never blocks for long: returns false
     * when the host side cannot take it now (the frame was not sent); the backend then calls
     * {@link Receiver#writable} once it can.
     */
    boolean send(List<MemorySegment> parts);

    /**
     * Starts delivering received frames to {@code receiver} on the backend's own thread, and writability
     * notices. Called once.
     */
    void start(Receiver receiver);

    /** Receiving stopped by a {@link Receiver#receive} that returned false starts again. */
    void resumeReceive();

    /** The line of "info network" after the NIC's ("tap0: index=0,type=tap,ifname=tap0,script=no,downscript=no"). */
    String info();

    /** Stops the thread and releases the host side (the tap fd, the socket, the slirp instance). */
    @Override
    void close();

    /** The device side of a backend. */
    interface Receiver {
        /**
         * A frame arrived (vnet header first when the backend has one). Returns false when the guest has no
         * buffer for it: the backend keeps that frame and stops reading until {@link NetBackend#resumeReceive}.
         */
        boolean receive(MemorySegment frame);

        /** The host side can take frames again after a {@link NetBackend#send} returned false. */
        void writable();
    }
}
