package dev.jhv.core.memory;

import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Which pages of guest RAM the kernel has never backed, so that saving and loading can skip them without touching
 * them. Scanning a mostly empty 2 GiB guest for zero pages would cost seconds, and reading pages never written maps
 * them. With transparent huge pages, a write makes the whole 2 MiB around it resident: its neighbours are then
 * scanned, not skipped.
 * <p>
 * A page that mincore(2) reports absent was never written or was swapped out; only the first is known to read as
 * zero. So the answer is trusted only while no swap is in use, checked before and after the call; otherwise every
 * page counts as possibly non-zero and callers fall back to reading it.
 * <p>
 * Not thread-safe: one instance per scan.
 */
public final class PageResidency {
    public static final int PAGE_SIZE = 4096;
    /** Pages per mincore call (64 MiB of RAM, a 16 KiB vector). */
    static final int WINDOW_PAGES = 1 << 14;

    private final MemorySegment ram;
    private final MemorySegment vec;
    private long windowStart = -1;
    private long windowPages;
    private boolean windowKnown;

    /** @param ram an anonymous mapping (an absent page of a file mapping may hold data: never pass one) */
    public PageResidency(MemorySegment ram) {
        this.ram = ram;
        this.vec = Arena.ofAuto().allocate(WINDOW_PAGES);
    }

    /** Whether the page at {@code offset} of the mapping is known never to have been written (so reads as zero). */
    public boolean knownZero(long offset) {
        long page = offset / PAGE_SIZE;
        if (windowStart < 0 || page < windowStart || page >= windowStart + windowPages) {
            load(page - page % WINDOW_PAGES);
        }
        return windowKnown && (vec.get(ValueLayout.JAVA_BYTE, page - windowStart) & 1) == 0;
    }

    /** Records that the caller has just written the page at {@code offset}, which is now resident. */
    public void written(long offset) {
        long page = offset / PAGE_SIZE;
        if (windowStart >= 0 && page >= windowStart && page < windowStart + windowPages) {
            vec.set(ValueLayout.JAVA_BYTE, page - windowStart, (byte) 1);
        }
    }

    /** Forgets what was learnt (pages may have been written since). */
    public void invalidate() {
        windowStart = -1;
    }

    private void load(long firstPage) {
        long total = ram.byteSize() / PAGE_SIZE;
        windowStart = firstPage;
        windowPages = Math.min(WINDOW_PAGES, total - firstPage);
        windowKnown = false;
        if (!ram.isNative() || ram.address() % PAGE_SIZE != 0 || swapInUse()) {
            return;
        }
        try {
            Libc.mincore(ram.asSlice(firstPage * PAGE_SIZE, windowPages * PAGE_SIZE), vec);
        } catch (SysCallException e) {
            return; // not a mapping mincore understands: read every page
        }
        windowKnown = !swapInUse();
    }

    /** Whether any swap space holds pages (then an absent page may hold data). Unknown counts as in use. */
    static boolean swapInUse() {
        long[] kib = HostMemory.kibFields(HostMemory.MEMINFO, "SwapTotal:", "SwapFree:");
        return kib[0] < 0 || kib[1] < 0 || kib[0] != kib[1];
    }
}
