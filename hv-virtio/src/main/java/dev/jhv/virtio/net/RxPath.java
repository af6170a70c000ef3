package dev.jhv.virtio.net;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.VirtqueueException;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The receive side of one activation: a frame goes into one chain, or with MRG_RXBUF into as many as it needs,
 * the first starting with the virtio_net_hdr whose num_buffers says how many (virtio 1.2, 5.1.6.3/4). Used on the
 * device's I/O thread.
 *
 * <p>With mergeable buffers the chains are taken one by one until the frame fits; when the queue runs dry first,
 * the chains taken stay reserved for the next attempt (the queue has no way to give them back), and a pause hands
 * them back empty, which drivers count as a runt and recycle.
 */
final class RxPath {
    enum Outcome { DELIVERED, DROPPED, NO_BUFFER }


    private static final int ETH_HEADER = 14;

    private final GuestMemory memory;
    private final Ring ring;
    private final int backendHeader;
    private final int headerLength;
    private final boolean mergeable;
    private final boolean vlanFiltering;
    private final RxFilter filter;
    private final Supplier<MacAddress> mac;
    private final NetCounters counters;
    private final List<DescriptorChain> reserve = new ArrayList<>();
    private boolean pushed;

    RxPath(GuestMemory memory, Ring ring, long features, int backendHeader, RxFilter filter,
           Supplier<MacAddress> mac, NetCounters counters) {
        this.memory = memory;
        this.ring = ring;
        this.backendHeader = backendHeader;
        this.headerLength = VirtioNet.headerLength(features);
        this.mergeable = (features & NetFeatures.MRG_RXBUF) != 0;
        this.vlanFiltering = (features & NetFeatures.CTRL_VLAN) != 0;
        this.filter = filter;
        this.mac = mac;
        this.counters = counters;
    }

    /**
     * Gives {@code frame} (the backend's vnet header first, if it has one) to the guest, or drops it (a runt, one
     * the filter refuses, one longer than a non-merged buffer). NO_BUFFER: the queue has no room for it yet.
     */
    Outcome deliver(byte[] frame) throws VirtqueueException, DriverError {
        int length = frame.length - backendHeader;
        if (length < ETH_HEADER) {
            counters.rxDropped.incrementAndGet();
            return Outcome.DROPPED;
        }
        if (!filter.accepts(frame, backendHeader, length, mac.get(), vlanFiltering)) {
            counters.rxFiltered.incrementAndGet();
            return Outcome.DROPPED;
        }
        NetHeader h = backendHeader > 0 ? NetHeader.read(frame, 0, NetHeader.LEGACY_LENGTH) : NetHeader.NONE;
        int need = headerLength + length;
        if (!mergeable) {
            DescriptorChain c = ring.pop();
            if (c == null) {
                return Outcome.NO_BUFFER;
            }
            if (c.writableLength() < need) {
                ring.push(c, 0);
                pushed = true;
                counters.rxDropped.incrementAndGet();
                return Outcome.DROPPED;
            }
            // Without MRG_RXBUF a 12-byte header says num_buffers 1 (virtio 1.2, 5.1.6.4).
            write(c, frame, h.withNumBuffers(1), 0, need);
            counters.rxFrames.incrementAndGet();
            return Outcome.DELIVERED;
        }
        long room = 0;
        for (DescriptorChain c : reserve) {
            room += c.writableLength();
        }
        while (room < need) {
            DescriptorChain c = ring.pop();
            if (c == null) {
                return Outcome.NO_BUFFER;
            }
            if (reserve.isEmpty() && c.writableLength() < headerLength) {
                ring.push(c, 0);
                pushed = true;
                throw new DriverError("virtio-net: receive buffer " + c.head() + " of " + c.writableLength()
                        + " bytes cannot hold the " + headerLength + "-byte header");
            }
            reserve.add(c);
            room += c.writableLength();
        }
        NetHeader first = h.withNumBuffers(reserve.size());
        int at = 0;
        for (DescriptorChain c : reserve) {
            int n = (int) Math.min(c.writableLength(), need - at);
            write(c, frame, first, at, n);
            at += n;
        }
        reserve.clear();
        counters.rxFrames.incrementAndGet();
        return Outcome.DELIVERED;
    }

    /**
     * Writes bytes {@code at} to {@code at + n} of what the guest receives (the header, then the frame) into
     * {@code c} and pushes it with {@code n} written.
     */
    private void write(DescriptorChain c, byte[] frame, NetHeader h, int at, int n) {
        int done = 0;
        if (at < headerLength) {
            byte[] hb = new byte[headerLength];
            h.write(hb, 0, headerLength);
            done = ChainIo.write(memory, c.writable(), 0, hb, at, Math.min(headerLength - at, n));
        }
        if (done < n) {
            int from = backendHeader + at + done - headerLength;
            ChainIo.write(memory, c.writable(), done, frame, from, n - done);
        }
        ring.push(c, n);
        pushed = true;
    }

    /** Whether chains were pushed since the last call (the caller then interrupts the driver once). */
    boolean takePushed() {
        boolean p = pushed;
        pushed = false;
        return p;
    }

    /** Hands the reserved chains back empty (see the class comment). */
    void returnReserve() {
        for (DescriptorChain c : reserve) {
            ring.push(c, 0);
            pushed = true;
        }
        reserve.clear();
    }
}
