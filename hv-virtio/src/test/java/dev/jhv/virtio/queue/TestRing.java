package dev.jhv.virtio.queue;

import dev.jhv.core.memory.GuestMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/** A driver's side of a split ring in a small fake guest RAM (1 MiB at 0): what the tests play the driver with. */
final class TestRing implements AutoCloseable {
    static final long RAM_SIZE = 1 << 20;
    static final long DESC = 0x1000;
    static final long AVAIL = 0x3000;
    static final long USED = 0x4000;
    static final long DATA = 0x10000;

    final Arena arena = Arena.ofConfined();
    final MemorySegment ram = arena.allocate(RAM_SIZE, 4096);
    final GuestMemory memory = new GuestMemory(List.of(new GuestMemory.Region(0, ram)));
    final Virtqueue queue;
    final int size;
    int availIdx;

    TestRing(int size) {
        this.size = size;
        queue = new Virtqueue(0, size);
        queue.configure(size, DESC, AVAIL, USED, true);
    }

    void desc(int i, long addr, int len, int flags, int next) {
        descAt(DESC, i, addr, len, flags, next);
    }

    void descAt(long table, int i, long addr, int len, int flags, int next) {
        long at = table + 16L * i;
        ram.set(ValueLayout.JAVA_LONG_UNALIGNED, at, addr);
        ram.set(ValueLayout.JAVA_INT_UNALIGNED, at + 8, len);
        ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 12, (short) flags);
        ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 14, (short) next);
    }

    /** Makes {@code head} available and publishes the new index. */
    void offer(int head) {
        ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, AVAIL + 4 + 2L * (availIdx % size), (short) head);
        availIdx = (availIdx + 1) & 0xffff;
        setAvailIdx(availIdx);
    }

    void setAvailIdx(int idx) {
        ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, AVAIL + 2, (short) idx);
    }

    void setAvailFlags(int flags) {
        ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, AVAIL, (short) flags);
    }

    void setUsedEvent(int idx) {
        ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, AVAIL + 4 + 2L * size, (short) idx);
    }

    int usedIdx() {
        return Short.toUnsignedInt(ram.get(ValueLayout.JAVA_SHORT_UNALIGNED, USED + 2));
    }

    int usedFlags() {
        return Short.toUnsignedInt(ram.get(ValueLayout.JAVA_SHORT_UNALIGNED, USED));
    }

    int availEvent() {
        return Short.toUnsignedInt(ram.get(ValueLayout.JAVA_SHORT_UNALIGNED, USED + 4 + 8L * size));
    }

    int usedId(int slot) {
        return ram.get(ValueLayout.JAVA_INT_UNALIGNED, USED + 4 + 8L * slot);
    }

    int usedLen(int slot) {
        return ram.get(ValueLayout.JAVA_INT_UNALIGNED, USED + 8 + 8L * slot);
    }

    @Override
    public void close() {
        arena.close();
    }
}
