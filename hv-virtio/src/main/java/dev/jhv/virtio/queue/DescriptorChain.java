package dev.jhv.virtio.queue;

import dev.jhv.core.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A request the driver made available: the chain's head index (what goes back in the used ring) and its buffers,
 * the device-readable ones first, then the device-writable ones (virtio 1.2, 2.7.4: a readable descriptor after a
 * writable one is a driver error, refused when the chain is walked). Indirect tables are already flattened here.
 * Every buffer lies inside guest RAM: the walk checked it.
 */
public record DescriptorChain(int head, List<GuestBuffer> readable, List<GuestBuffer> writable) {
    public DescriptorChain {
        readable = List.copyOf(readable);
        writable = List.copyOf(writable);
    }

    public long readableLength() {
        long n = 0;
        for (GuestBuffer b : readable) {
            n += b.length();
        }
        return n;
    }

    public long writableLength() {
        long n = 0;
        for (GuestBuffer b : writable) {
            n += b.length();
        }
        return n;
    }

    /** The readable buffers as views of guest RAM, in order. */
    public List<MemorySegment> readableSlices(GuestMemory memory) {
        return readable.stream().map(b -> memory.slice(b.gpa(), b.length())).toList();
    }

    /**
     * The writable buffers as views of guest RAM, in order. A device that writes through them calls
     * {@link GuestMemory#markWritten} for what it wrote (or uses {@link Virtqueue#push}, which marks the used
     * length), so that a migration sends those pages again.
     */
    public List<MemorySegment> writableSlices(GuestMemory memory) {
        return writable.stream().map(b -> memory.slice(b.gpa(), b.length())).toList();
    }
}
