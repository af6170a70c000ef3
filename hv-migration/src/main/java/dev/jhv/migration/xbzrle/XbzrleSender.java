package dev.jhv.migration.xbzrle;

import dev.jhv.migration.stream.RamBlock;
import dev.jhv.migration.stream.RamSectionWriter;
import dev.jhv.migration.stream.RamStats;

import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The source side of XBZRLE for one migration: every page sent goes through the {@link PageCache}; a page the cache
 * holds (it was sent before) goes as its encoding against that version, else whole (and is cached). The cache's
 * generation is the dirty-sync count, which {@link #synced} advances; the rates QEMU shows are per sync period.
 */
public final class XbzrleSender implements RamSectionWriter.PageDelta, AutoCloseable {
    private static final int PAGE = PageCache.PAGE_SIZE;

    private final PageCache cache;
    private final long cacheBytes;
    /** Each block's first page as one RAM address space (QEMU's ram_addr_t), the cache's keys. */
    private final Map<RamBlock, Long> base = new IdentityHashMap<>();
    private long generation = 1;
    private long offered;
    private long cacheMiss;
    private long overflow;
    private long offeredPrev;
    private long missPrev;
    private long pagesPrev;
    private long bytesPrev;
    private double cacheMissRate;
    private double encodingRate;
    private long ramBytesPrev;
    private long offeredCost;
    private long ratesTaken = System.nanoTime();
    private final long ratePeriodNanos;
    /** Bytes on the wire per page sent in the last sync period (whole, encoded or zero); a page until measured. */
    private double bytesPerPage = PAGE;

    /** Counters as QEMU's xbzrle-cache object shows them (bytes and pages come from the RAM statistics). */
    public record Counters(long cacheSize, long bytes, long pages, long cacheMiss, double cacheMissRate,
                           double encodingRate, long overflow) { }

    public XbzrleSender(List<RamBlock> blocks, long cacheBytes) {
        this(blocks, cacheBytes, 1_000_000_000L);
    }

    /** @param ratePeriodNanos the least time between two takings of the rates (QEMU: a second) */
    XbzrleSender(List<RamBlock> blocks, long cacheBytes, long ratePeriodNanos) {
        this.ratePeriodNanos = ratePeriodNanos;
        this.cacheBytes = cacheBytes;
        this.cache = new PageCache(cacheBytes);
        long at = 0;
        for (RamBlock b : blocks) {
            base.put(b, at);
            at += b.size();
        }
    }

    private long key(RamBlock block, long offset) {
        Long b = base.get(block);
        if (b == null) {
            throw new IllegalArgumentException("RAM block '" + block.name() + "' is not one this migration sends");
        }
        return b + offset;
    }

    @Override
    public synchronized int encode(RamBlock block, long offset, MemorySegment page, byte[] out) {
        long key = key(block, offset);
        offered++;
        if (!cache.cached(key, generation)) {
            if (generation > 1) { // the first pass sends every page for the first time: no miss, as in QEMU
                cacheMiss++;
            }
            cache.insert(key, page, 0, generation);
            return -1;
        }
        MemorySegment prev = cache.page(key);
        int n = XbzrleCodec.encode(prev, 0, page, 0, PAGE, out, PAGE);
        if (n == 0) {
            return 0;
        }
        MemorySegment.copy(page, 0, prev, 0, PAGE); // the cache holds what the destination will hold
        if (n == XbzrleCodec.OVERFLOW) {
            overflow++;
            return -1;
        }
        return n;
    }

    @Override
    public synchronized void zero(RamBlock block, long offset) {
        offered++;
        cache.forget(key(block, offset)); // the destination now holds zeros, not the cached version
    }

    /**
     * A dirty sync: the cache's next generation; the rates of the period since they were last taken, as QEMU takes
     * them: at a sync at least a second after the last (a short final pass would show only itself).
     */
    public synchronized void synced(long syncCount, RamStats stats) {
        generation = syncCount;
        long sent = offered - offeredCost;
        if (sent > 0 && syncCount > 2) { // the first pass is mostly first sends, not what later passes cost
            bytesPerPage = Math.clamp((double) (stats.bytes() - ramBytesPrev) / sent, 1.0, PAGE + 16.0);
        }
        ramBytesPrev = stats.bytes();
        offeredCost = offered;
        long now = System.nanoTime();
        if (now - ratesTaken < ratePeriodNanos) {
            return;
        }
        ratesTaken = now;
        long pages = offered - offeredPrev;
        cacheMissRate = pages == 0 ? 0 : (double) (cacheMiss - missPrev) / pages;
        long xPages = stats.xbzrlePages() - pagesPrev;
        long xBytes = stats.xbzrleBytes() - bytesPrev;
        encodingRate = xPages == 0 || xBytes == 0 ? 0 : (double) xPages * PAGE / xBytes;
        offeredPrev = offered;
        missPrev = cacheMiss;
        pagesPrev = stats.xbzrlePages();
        bytesPrev = stats.xbzrleBytes();
    }

    /**
     * What sending {@code pages} pending pages would put on the wire, at what the last period's pages cost: with
     * XBZRLE a re-sent page costs a fraction of a page, and the switchover estimate must know it, or a guest that
     * XBZRLE keeps up with would never be stopped.
     */
    public synchronized long expectedBytes(long pages) {
        return (long) Math.ceil(pages * bytesPerPage);
    }

    public synchronized Counters counters(RamStats stats) {
        return new Counters(cacheBytes, stats.xbzrleBytes(), stats.xbzrlePages(), cacheMiss, cacheMissRate,
                encodingRate, overflow);
    }

    @Override
    public void close() {
        cache.close();
    }
}
