package dev.jhv.migration.xbzrle;

import dev.jhv.core.memory.RamAllocator;

import java.lang.foreign.MemorySegment;

/**
 * The source's XBZRLE cache, as QEMU keeps it: the last version sent of up to a power of two of pages (the size
 * rounded down to one), direct-mapped by page number. Each entry carries the dirty-sync count ("generation") at which
 * it was last sent; an entry is replaced by another page only once it is {@link #LIFETIME} generations old, so that
 * pages re-sent pass after pass stay while pages sent once make way.
 */
public final class PageCache implements AutoCloseable {
    public static final int PAGE_SIZE = 4096;
    /** Generations an entry is kept against other pages (QEMU's CACHED_PAGE_LIFETIME). */
    static final long LIFETIME = 2;

    private final int slots;
    private final long[] keys;
    private final long[] ages;
    private final MemorySegment data;

    /** @param bytes the cache size; at least one page */
    public PageCache(long bytes) {
        long n = Long.highestOneBit(Math.max(1, bytes / PAGE_SIZE));
        if (n > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("an XBZRLE cache of " + bytes + " bytes is larger than supported");
        }
        slots = (int) n;
        keys = new long[slots];
        ages = new long[slots];
        java.util.Arrays.fill(keys, -1);
        // mapped, not allocated: an arena would zero-fill (and commit) the whole cache before the first page goes
        data = RamAllocator.map((long) slots * PAGE_SIZE);
    }

    /** The pages it holds at most. */
    public int slots() {
        return slots;
    }

    private int slot(long key) {
        return (int) ((key / PAGE_SIZE) & (slots - 1));
    }

    /**
     * Whether the page at {@code key} (a page-aligned RAM address) is cached; a hit makes the entry current
     * ({@code generation}).
     */
    public boolean cached(long key, long generation) {
        int s = slot(key);
        if (keys[s] != key) {
            return false;
        }
        ages[s] = generation;
        return true;
    }

    /** The cached bytes of a page {@link #cached} just found (a page-sized slice, written by the caller on send). */
    public MemorySegment page(long key) {
        int s = slot(key);
        if (keys[s] != key) {
            throw new IllegalStateException("page 0x" + Long.toHexString(key) + " is not cached");
        }
        return data.asSlice((long) s * PAGE_SIZE, PAGE_SIZE);
    }

    /**
     * Caches {@code len = PAGE_SIZE} bytes of {@code src} at {@code off} as the page at {@code key}, unless its slot
     * holds another page younger than {@link #LIFETIME} generations. Returns whether it was cached.
     */
    public boolean insert(long key, MemorySegment src, long off, long generation) {
        int s = slot(key);
        if (keys[s] != -1 && keys[s] != key && ages[s] + LIFETIME > generation) {
            return false; // a page still being re-sent keeps its place
        }
        keys[s] = key;
        ages[s] = generation;
        MemorySegment.copy(src, off, data, (long) s * PAGE_SIZE, PAGE_SIZE);
        return true;
    }

    /** Forgets the page at {@code key} if cached (it was sent another way, e.g. as a zero page). */
    public void forget(long key) {
        int s = slot(key);
        if (keys[s] == key) {
            keys[s] = -1;
        }
    }

    @Override
    public void close() {
        RamAllocator.unmap(data);
    }
}
