package dev.jhv.virtio.blk;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.GuestBuffer;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * One virtio-blk request read from its chain (virtio 1.2, 5.2.6): the 16-byte header (type, reserved, sector) at
 * the start of the device-readable bytes, the data after it (OUT, DISCARD, WRITE_ZEROES) or in the device-writable
 * bytes before the last one (IN, GET_ID), and the status byte, the last device-writable byte. Any descriptor layout
 * is accepted (VIRTIO_F_ANY_LAYOUT is implied by VERSION_1): the header, the data and the status may be split
 * across descriptors or share one.
 *
 * @param type      the request type, the barrier bit (legacy) cleared
 * @param sector    the first 512-byte sector
 * @param data      the data bytes as views of guest RAM, in order
 * @param dataLength the sum of {@code data}'s lengths
 * @param dataGpas  the guest address of each of {@code data}'s views (for the write tracking)
 * @param statusGpa where the status byte goes
 */
record BlkRequest(int queue, DescriptorChain chain, int type, long sector, List<MemorySegment> data, long dataLength,
                  List<Long> dataGpas, long statusGpa) {
    static final int HEADER = 16;
    static final int SECTOR = 512;
    static final int SEGMENT = 16;

    static final int T_IN = 0;
    static final int T_OUT = 1;
    static final int T_FLUSH = 4;
    static final int T_GET_ID = 8;
    static final int T_DISCARD = 11;
    static final int T_WRITE_ZEROES = 13;
    /** Legacy drivers may set it on any request; it asks for nothing a modern device does. */
    static final int T_BARRIER = 0x8000_0000;

    static final int S_OK = 0;
    static final int S_IOERR = 1;
    static final int S_UNSUPP = 2;

    /** The outcome of reading a chain. */
    sealed interface Parsed {
    }

    /** A request to run. */
    record Ok(BlkRequest request) implements Parsed {
    }

    /**
     * The chain has no place for a status byte or no whole header: nothing can be answered, the driver broke the
     * rules (QEMU's virtio-blk stops the device the same way).
     */
    record Broken(String reason) implements Parsed {
    }

    /** Bytes the device writes: total length of the writable buffers, which the used ring reports. */
    int usedLength() {
        return (int) Math.min(Integer.MAX_VALUE, chain.writableLength());
    }

    static Parsed parse(GuestMemory memory, int queue, DescriptorChain chain) {
        List<GuestBuffer> writable = chain.writable();
        if (chain.readable().isEmpty() || writable.isEmpty()) {
            return new Broken("request " + chain.head() + " has no " + (chain.readable().isEmpty()
                    ? "device-readable header" : "device-writable status byte"));
        }
        if (chain.readableLength() < HEADER) {
            return new Broken("request " + chain.head() + ": header of " + chain.readableLength()
                    + " bytes, needs " + HEADER);
        }
        GuestBuffer last = writable.getLast();
        if (last.length() < 1) {
            return new Broken("request " + chain.head() + ": the last device-writable descriptor is empty, no "
                    + "room for the status byte");
        }
        byte[] header = new byte[HEADER];
        copyOut(memory, chain.readable(), 0, header);
        var h = java.nio.ByteBuffer.wrap(header).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int type = h.getInt(0) & ~T_BARRIER;
        long sector = h.getLong(8);
        long statusGpa = last.gpa() + last.length() - 1;
        var data = new ArrayList<MemorySegment>();
        var gpas = new ArrayList<Long>();
        long length;
        if (type == T_IN || type == T_GET_ID) {
            length = chain.writableLength() - 1;
            views(memory, writable, 0, length, data, gpas);
        } else {
            length = chain.readableLength() - HEADER;
            views(memory, chain.readable(), HEADER, length, data, gpas);
        }
        return new Ok(new BlkRequest(queue, chain, type, sector, List.copyOf(data), length, List.copyOf(gpas),
                statusGpa));
    }

    /** Views of the bytes [skip, skip+length) of {@code buffers} taken as one stream. */
    private static void views(GuestMemory memory, List<GuestBuffer> buffers, long skip, long length,
                              List<MemorySegment> out, List<Long> gpas) {
        long pos = 0;
        long end = skip + length;
        for (GuestBuffer b : buffers) {
            long from = Math.max(pos, skip);
            long to = Math.min(pos + b.length(), end);
            if (from < to) {
                long gpa = b.gpa() + (from - pos);
                out.add(memory.slice(gpa, to - from));
                gpas.add(gpa);
            }
            pos += b.length();
            if (pos >= end) {
                break;
            }
        }
    }

    /** Copies the first {@code dst.length} bytes of {@code buffers}' stream starting at {@code skip}. */
    static void copyOut(GuestMemory memory, List<GuestBuffer> buffers, long skip, byte[] dst) {
        var segs = new ArrayList<MemorySegment>();
        views(memory, buffers, skip, dst.length, segs, new ArrayList<>());
        int at = 0;
        for (MemorySegment s : segs) {
            MemorySegment.copy(s, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, dst, at, (int) s.byteSize());
            at += (int) s.byteSize();
        }
    }

    /** The data bytes as one array (for DISCARD and WRITE_ZEROES segments, a few bytes). */
    byte[] dataBytes(int max) {
        byte[] out = new byte[(int) Math.min(max, dataLength)];
        int at = 0;
        for (MemorySegment s : data) {
            int n = (int) Math.min(s.byteSize(), out.length - at);
            MemorySegment.copy(s, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, out, at, n);
            at += n;
            if (at == out.length) {
                break;
            }
        }
        return out;
    }

    /** Records in the write tracking the data bytes the device wrote (IN, GET_ID). */
    void markDataWritten(GuestMemory memory, long upTo) {
        long left = upTo;
        for (int i = 0; i < data.size() && left > 0; i++) {
            long n = Math.min(left, data.get(i).byteSize());
            memory.markWritten(dataGpas.get(i), n);
            left -= n;
        }
    }
}
