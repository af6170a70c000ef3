package dev.jhv.virtio.net;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.core.net.NetBackend;
import dev.jhv.virtio.queue.DescriptorChain;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The transmit side of one activation: each chain is a virtio_net_hdr and a frame (virtio 1.2, 5.1.6.2). A
 * backend with a vnet header gets both and does the offloads; for one without, the device fills a requested
 * checksum itself and drops GSO frames (it offers no segmentation offload then, so only a driver ignoring the
 * features sends one). Used on the device's I/O thread.
 */
final class TxPath {
    /** The largest frame taken (a 64 KiB GSO frame); a longer chain is dropped and counted. */
    static final int MAX_FRAME = 65536;

    enum Outcome { SENT, DROPPED, BLOCKED }


    private final GuestMemory memory;
    private final long features;
    private final NetBackend backend;
    private final NetCounters counters;
    private final int headerLength;
    /** The backend's copy of the header and, for a checksummed plain frame, the frame: native for its writev. */
    private final MemorySegment headerOut;
    private MemorySegment frameOut;

    TxPath(GuestMemory memory, long features, NetBackend backend, NetCounters counters) {
        this.memory = memory;
        this.features = features;
        this.backend = backend;
        this.counters = counters;
        this.headerLength = VirtioNet.headerLength(features);
        this.headerOut = Arena.ofAuto().allocate(NetHeader.LENGTH);
    }

    /** Sends the frame of {@code chain}; BLOCKED: the backend cannot take it now, send it again on writable. */
    Outcome transmit(DescriptorChain chain) throws DriverError {
        long total = chain.readableLength();
        if (total < headerLength) {
            throw new DriverError("virtio-net header incorrect: transmit chain " + chain.head() + " has " + total
                    + " readable bytes, the header alone is " + headerLength);
        }
        long frameLength = total - headerLength;
        byte[] hb = new byte[NetHeader.LENGTH];
        ChainIo.read(memory, chain.readable(), 0, hb, 0, headerLength);
        NetHeader h = NetHeader.read(hb, 0, headerLength);
        if (frameLength > MAX_FRAME || (h.gsoType() != NetHeader.GSO_NONE && !gsoNegotiated(h))) {
            counters.txDropped.incrementAndGet();
            return Outcome.DROPPED;
        }
        List<MemorySegment> parts;
        if (backend.vnetHeaderLength() > 0) {
            h.withNumBuffers(0).write(hb, 0, NetHeader.LENGTH);
            MemorySegment.copy(hb, 0, headerOut, ValueLayout.JAVA_BYTE, 0, NetHeader.LENGTH);
            var all = new ArrayList<MemorySegment>();
            all.add(headerOut);
            all.addAll(ChainIo.slicesAfter(memory, chain.readable(), headerLength));
            parts = all;
        } else if (h.gsoType() != NetHeader.GSO_NONE) {
            counters.txDropped.incrementAndGet(); // no segmentation here
            return Outcome.DROPPED;
        } else if (h.needsCsum()) {
            MemorySegment f = checksummed(chain, (int) frameLength, h);
            if (f == null) {
                counters.txDropped.incrementAndGet();
                return Outcome.DROPPED;
            }
            parts = List.of(f);
        } else {
            parts = ChainIo.slicesAfter(memory, chain.readable(), headerLength);
        }
        if (!backend.send(parts)) {
            return Outcome.BLOCKED;
        }
        counters.txFrames.incrementAndGet();
        return Outcome.SENT;
    }

    private boolean gsoNegotiated(NetHeader h) {
        long need = switch (h.gsoKind()) {
            case NetHeader.GSO_TCPV4 -> NetFeatures.HOST_TSO4;
            case NetHeader.GSO_TCPV6 -> NetFeatures.HOST_TSO6;
            case NetHeader.GSO_UDP -> NetFeatures.HOST_UFO;
            default -> -1;
        };
        if ((h.gsoType() & NetHeader.GSO_ECN) != 0) {
            need |= NetFeatures.HOST_ECN;
        }
        return need != -1 && (features & need) == need;
    }

    /** The frame copied out with the checksum the header asks for filled in; null when its place is outside. */
    private MemorySegment checksummed(DescriptorChain chain, int length, NetHeader h) {
        int start = h.csumStart();
        int at = start + h.csumOffset();
        if (at + 2 > length) {
            return null;
        }
        byte[] frame = new byte[length];
        ChainIo.read(memory, chain.readable(), headerLength, frame, 0, length);
        int sum = InternetChecksum.fold(InternetChecksum.sum(frame, start, length - start));
        // The stored field holds the pseudo-header sum the driver put there, so it is part of the sum above.
        // A result of 0 goes out as 0xffff, its equal in ones' complement: for UDP 0 would mean "no checksum".
        int csum = ~sum & 0xffff;
        if (csum == 0) {
            csum = 0xffff;
        }
        frame[at] = (byte) (csum >>> 8);
        frame[at + 1] = (byte) csum;
        if (frameOut == null) {
            frameOut = Arena.ofAuto().allocate(MAX_FRAME);
        }
        MemorySegment.copy(frame, 0, frameOut, ValueLayout.JAVA_BYTE, 0, length);
        return frameOut.asSlice(0, length);
    }
}
