package dev.jhv.virtio.blk;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.GuestBuffer;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** 1 MiB of guest RAM over an Arena segment, and hand-built request chains in it. */
final class GuestRig implements AutoCloseable {
    static final long SIZE = 1 << 20;
    final Arena arena = Arena.ofShared();
    final GuestMemory memory = new GuestMemory(List.of(new GuestMemory.Region(0, arena.allocate(SIZE, 4096))));
    private long next = 0x1000;
    private int head;

    /** A fresh guest buffer of {@code len} bytes (placed after the previous ones). */
    GuestBuffer buffer(int len) {
        var b = new GuestBuffer(next, len);
        next += (len + 511) & ~511L;
        if (next > SIZE) {
            throw new IllegalStateException("test guest memory exhausted");
        }
        return b;
    }

    GuestBuffer header(int type, long sector) {
        GuestBuffer h = buffer(16);
        memory.write(h.gpa(), header16(type, sector));
        return h;
    }

    static byte[] header16(int type, long sector) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(type).putInt(0).putLong(sector).array();
    }

    static byte[] segment(long sector, int sectors, int flags) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(sector).putInt(sectors).putInt(flags)
                .array();
    }

    DescriptorChain chain(List<GuestBuffer> readable, List<GuestBuffer> writable) {
        return new DescriptorChain(head++, readable, writable);
    }

    /** A chain of the usual layout: header, data buffers (readable for OUT, writable for IN), status byte. */
    DescriptorChain request(int type, long sector, boolean dataWritable, GuestBuffer... data) {
        var r = new ArrayList<GuestBuffer>();
        var w = new ArrayList<GuestBuffer>();
        r.add(header(type, sector));
        (dataWritable ? w : r).addAll(List.of(data));
        w.add(buffer(1));
        return chain(r, w);
    }

    int status(DescriptorChain c) {
        GuestBuffer s = c.writable().getLast();
        return memory.readByte(s.gpa() + s.length() - 1);
    }

    byte[] read(GuestBuffer b) {
        return memory.read(b.gpa(), b.length());
    }

    void fill(GuestBuffer b, int v) {
        memory.fill(b.gpa(), b.length(), (byte) v);
    }

    @Override
    public void close() {
        arena.close();
    }
}
