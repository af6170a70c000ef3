package dev.jhv.core.memory;

import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmVm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Which guest pages changed since the last look, for a migration: KVM's per-slot log of pages the vCPUs wrote
 * (KVM_MEM_LOG_DIRTY_PAGES, read and cleared by KVM_GET_DIRTY_LOG) merged with the pages the VMM wrote itself
 * ({@link GuestMemory#markWritten}), which KVM does not see. One bit per 4 KiB page, bit i of word i/64 = page i,
 * per RAM region in the order {@link GuestMemory#regions()} gives.
 */
public final class DirtyLog implements AutoCloseable {
    /** A KVM memory slot and the region it maps. */
    public record Slot(int id, GuestMemory.Region region) { }

    private final KvmVm vm;
    private final GuestMemory memory;
    private final List<Slot> slots;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] kvmBitmaps;
    private boolean logging;

    /** @param slots one per region of {@code memory}, in its order */
    public DirtyLog(KvmVm vm, GuestMemory memory, List<Slot> slots) {
        this.vm = vm;
        this.memory = memory;
        this.slots = List.copyOf(slots);
        this.kvmBitmaps = new MemorySegment[slots.size()];
        for (int i = 0; i < slots.size(); i++) {
            // KVM writes whole 64-bit words
            kvmBitmaps[i] = arena.allocate(words(slots.get(i).region()) * 8L, 8);
        }
    }

    private static int words(GuestMemory.Region r) {
        return (int) ((r.size() / GuestMemory.PAGE_SIZE + 63) / 64);
    }

    /** Turns logging on: from now on every page written is reported by the next {@link #sync}. */
    public synchronized void start() {
        if (logging) {
            return;
        }
        memory.startWriteTracking();
        for (Slot s : slots) {
            vm.setUserMemoryRegion(s.id(), KvmIoctls.MEM_LOG_DIRTY_PAGES, s.region().gpa(), s.region().segment());
        }
        logging = true;
    }

    /** The pages written since {@link #start} or the previous sync, per region; clears them. */
    public synchronized long[][] sync() {
        long[][] out = new long[slots.size()][];
        for (int i = 0; i < slots.size(); i++) {
            Slot s = slots.get(i);
            long[] bits = memory.takeWritten(i);
            if (logging) {
                vm.getDirtyLog(s.id(), kvmBitmaps[i]);
                for (int w = 0; w < bits.length; w++) {
                    bits[w] |= kvmBitmaps[i].getAtIndex(ValueLayout.JAVA_LONG, w);
                }
            }
            out[i] = bits;
        }
        return out;
    }

    /** Turns logging off (KVM stops write-protecting pages for it). */
    public synchronized void stop() {
        if (!logging) {
            return;
        }
        for (Slot s : slots) {
            vm.setUserMemoryRegion(s.id(), 0, s.region().gpa(), s.region().segment());
        }
        memory.stopWriteTracking();
        logging = false;
    }

    /** Counts the set bits of a sync's result. */
    public static long count(long[][] bitmaps) {
        long n = 0;
        for (long[] b : bitmaps) {
            for (long w : b) {
                n += Long.bitCount(w);
            }
        }
        return n;
    }

    @Override
    public synchronized void close() {
        stop();
        arena.close();
    }
}
