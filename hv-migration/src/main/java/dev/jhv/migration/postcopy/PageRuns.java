package dev.jhv.migration.postcopy;

import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateOutput;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.RamStateEntry;

/**
 * Page bitmaps (bit i of word i/64 = page i, per block) on the wire as runs: per block be32 run count, then per run
 * be64 first page and be64 page count. The listen command carries the pages the destination lacks; a recovery
 * carries the pages it has.
 */
final class PageRuns {
    private PageRuns() { }

    static void write(VMStateOutput out, long[][] bitmaps, long[] pages) {
        for (int b = 0; b < bitmaps.length; b++) {
            long runs = 0;
            for (long p = next(bitmaps[b], 0, pages[b]); p >= 0; p = next(bitmaps[b], end(bitmaps[b], p, pages[b]),
                    pages[b])) {
                runs++;
            }
            out.u32(runs);
            for (long p = next(bitmaps[b], 0, pages[b]); p >= 0; ) {
                long e = end(bitmaps[b], p, pages[b]);
                out.u64(p);
                out.u64(e - p);
                p = next(bitmaps[b], e, pages[b]);
            }
        }
    }

    /** Reads the runs of {@code pages.length} blocks into bitmaps; a run beyond its block is refused. */
    static long[][] read(VMStateInput in, long[] pages) {
        long[][] bits = new long[pages.length][];
        for (int b = 0; b < pages.length; b++) {
            bits[b] = new long[(int) ((pages[b] + 63) / 64)];
            long runs = in.u32("postcopy page runs");
            for (long r = 0; r < runs; r++) {
                long first = in.u64("postcopy page runs");
                long count = in.u64("postcopy page runs");
                if (first < 0 || count <= 0 || first >= pages[b] || count > pages[b] - first) {
                    throw new MigrationException("postcopy page run " + first + "+" + count + " at stream offset "
                            + in.offset() + " does not fit RAM block " + b + " (" + pages[b] + " pages)");
                }
                for (long p = first; p < first + count; p++) {
                    bits[b][(int) (p >>> 6)] |= 1L << p;
                }
            }
        }
        return bits;
    }

    static long next(long[] bits, long from, long n) {
        return RamStateEntry.nextSetBit(bits, from, n);
    }

    /** The first clear page at or after {@code from} (or n). */
    static long end(long[] bits, long from, long n) {
        long p = from;
        while (p < n && (bits[(int) (p >>> 6)] & (1L << p)) != 0) {
            p++;
        }
        return p;
    }

    static long count(long[][] bits) {
        long c = 0;
        for (long[] b : bits) {
            for (long w : b) {
                c += Long.bitCount(w);
            }
        }
        return c;
    }
}
