package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateOutput;

import dev.jhv.core.memory.PageResidency;

import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Writes the RAM part of a section body (RAM section version 2), QEMU's ram format in spirit. Each record starts
 * with a be64 whose high bits are a page-aligned offset and whose low 12 bits are flags:
 * <ul>
 * <li>{@code MEM_SIZE}: the offset field is the total RAM size; then for each block, u8 name length, name, be64
 *     size, until the sizes add up to the total. Sent once, in the START section.</li>
 * <li>{@code ZERO}: a run of zero pages from the offset: [u8 name length, name unless CONTINUE], be32 page count
 *     (at least 1). Version 1 had one record per zero page, with a u8 fill byte (0) instead of the count.</li>
 * <li>{@code PAGE}: a page sent whole: [name unless CONTINUE], 4096 bytes, be32 CRC32C of those bytes, so that a
 *     damaged page is named by its block and address. Version 1 had no CRC.</li>
 * <li>{@code XBZRLE}: a page as its change from the version sent before (see {@code dev.jhv.migration.xbzrle}):
 *     [name unless CONTINUE], be16 encoded length (1..4096), the encoding, be32 CRC32C of the decoded page. The
 *     destination applies it to the page it holds. Only sent with the xbzrle capability.</li>
 * <li>{@code CONTINUE}: with ZERO, PAGE or XBZRLE, the page is in the same block as the previous record of this body.</li>
 * <li>{@code EOS}: the end of this section body.</li>
 * </ul>
 */
public final class RamSectionWriter {
    public static final int PAGE_SIZE = 4096;
    public static final int FLAG_ZERO = 0x02;
    public static final int FLAG_MEM_SIZE = 0x04;
    public static final int FLAG_PAGE = 0x08;
    public static final int FLAG_EOS = 0x10;
    public static final int FLAG_CONTINUE = 0x20;
    public static final int FLAG_XBZRLE = 0x40;
    static final int FLAG_MASK = PAGE_SIZE - 1;


    private final VMStateOutput out;
    private final RamStats stats;
    private final CRC32C crc = new CRC32C();
    private RamBlock lastBlock;
    /** The zero pages seen but not yet written, as one run: its block (null for none), first offset, length. */
    private RamBlock runBlock;
    private long runStart;
    private long runPages;
    /** Per block, which pages were never written: fresh per section body, since the guest may run between. */
    private final Map<RamBlock, PageResidency> residency = new IdentityHashMap<>();

    public RamSectionWriter(VMStateOutput out) {
        this(out, new RamStats());
    }

    /** A writer adding to shared statistics (one writer per section body, CONTINUE never crosses bodies). */
    public RamSectionWriter(VMStateOutput out, RamStats stats) {
        this.out = out;
        this.stats = stats;
    }

    public RamStats stats() {
        return stats;
    }

    /** Sends a page as its change from what the destination already holds, where it can (XBZRLE). */
    public interface PageDelta {
        /**
         * @param page the page's bytes as they are sent (a copy the guest no longer writes)
         * @return the encoding's length in {@code out} (1..PAGE_SIZE), 0 when the page is unchanged since it was
         *     last sent (nothing to send), or -1 to send it whole
         */
        int encode(RamBlock block, long offset, MemorySegment page, byte[] out);

        /** The page is sent as a zero page. */
        void zero(RamBlock block, long offset);
    }

    private PageDelta delta;
    private byte[] encoded;

    /** Has pages sent through {@code d} first (null: every page whole). */
    public void delta(PageDelta d) {
        delta = d;
        if (d != null && encoded == null) {
            encoded = new byte[PAGE_SIZE];
        }
    }

    /** The MEM_SIZE record: every block's name and size. */
    public void writeBlockList(List<RamBlock> blocks) {
        long start = out.offset();
        long total = 0;
        for (RamBlock b : blocks) {
            total += b.size();
        }
        out.u64(total | FLAG_MEM_SIZE);
        for (RamBlock b : blocks) {
            out.string8(b.name());
            out.u64(b.size());
        }
        stats.other(out.offset() - start);
    }

    /**
     * Whether the page at {@code offset} of the segment holds only zeros. A page that is not zero mostly shows it in
     * its first bytes: the first 64 are looked at first (ten times faster on such a page than going straight to the
     * scan); then an OR over the page's longs, checked every 1 KiB so that the rest stops early too. Measured by
     * benchmarks' ZeroPageScanBenchmark: MemorySegment.mismatch against a zero page exits as early but scans a zero
     * page at half the speed. Scalar on purpose: the Vector API is an incubator module whose start-up warning would
     * land on every jhv's stderr.
     */
    public static boolean isZeroPage(MemorySegment seg, long offset) {
        long head = 0;
        for (int i = 0; i < 64; i += 8) {
            head |= seg.get(LONG, offset + i);
        }
        if (head != 0) {
            return false;
        }
        for (int chunk = 0; chunk < PAGE_SIZE; chunk += 1024) {
            long acc = 0;
            long base = offset + chunk;
            for (int i = 0; i < 1024; i += 32) {
                acc |= seg.get(LONG, base + i) | seg.get(LONG, base + i + 8)
                        | seg.get(LONG, base + i + 16) | seg.get(LONG, base + i + 24);
            }
            if (acc != 0) {
                return false;
            }
        }
        return true;
    }

    private static final java.lang.foreign.ValueLayout.OfLong LONG = java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

    /** Writes one page of a block; zero pages join a run of them, written when the run ends. */
    private final byte[] copyBytes = new byte[PAGE_SIZE];
    private final MemorySegment copy = MemorySegment.ofArray(copyBytes);

    public void writePage(RamBlock block, long offset) {
        if (offset < 0 || offset % PAGE_SIZE != 0 || offset >= block.size()) {
            throw new IllegalArgumentException("page offset 0x" + Long.toHexString(offset) + " is not a page of '"
                    + block.name() + "'");
        }
        boolean zero = residency.computeIfAbsent(block, b -> new PageResidency(b.segment())).knownZero(offset)
                || isZeroPage(block.segment(), offset);
        if (zero) {
            if (delta != null) {
                delta.zero(block, offset);
            }
            if (block == runBlock && offset == runStart + runPages * PAGE_SIZE && runPages < MAX_RUN_PAGES) {
                runPages++;
                return;
            }
            flushZeroRun();
            runBlock = block;
            runStart = offset;
            runPages = 1;
            return;
        }
        // one copy first: a running guest may write the page meanwhile (a live migration sends it again later),
        // and the bytes sent and their CRC must be the same bytes
        MemorySegment.copy(block.segment(), offset, copy, 0, PAGE_SIZE);
        int n = delta == null ? -1 : delta.encode(block, offset, copy, encoded);
        if (n == 0) {
            return; // the destination has these very bytes
        }
        flushZeroRun();
        long start = out.offset();
        if (n > 0) {
            header(block, offset, FLAG_XBZRLE);
            out.u16(n);
            out.bytes(encoded, 0, n);
        } else {
            header(block, offset, FLAG_PAGE);
            out.bytes(copyBytes, 0, PAGE_SIZE);
        }
        crc.reset();
        crc.update(copyBytes, 0, PAGE_SIZE);
        out.u32(crc.getValue());
        if (n > 0) {
            stats.xbzrle(out.offset() - start);
        } else {
            stats.normal(out.offset() - start);
        }
    }

    /** The longest zero run one record holds (its count is a be32). */
    static final long MAX_RUN_PAGES = 0xffff_ffffL;

    private void flushZeroRun() {
        if (runBlock == null) {
            return;
        }
        long start = out.offset();
        header(runBlock, runStart, FLAG_ZERO);
        out.u32(runPages);
        stats.zero(runPages, out.offset() - start);
        runBlock = null;
    }

    /** A record's be64 header and, unless it continues the previous record's block, the block's name. */
    private void header(RamBlock block, long offset, int flags) {
        boolean cont = block == lastBlock;
        out.u64(offset | flags | (cont ? FLAG_CONTINUE : 0));
        if (!cont) {
            out.string8(block.name());
            lastBlock = block;
        }
    }

    /** Writes pages [fromPage, toPage) of a block. */
    public void writePages(RamBlock block, long fromPage, long toPage) {
        for (long p = fromPage; p < toPage; p++) {
            writePage(block, p * PAGE_SIZE);
        }
    }

    /** Ends this section body (writing the zero run it may hold). */
    public void writeEos() {
        flushZeroRun();
        out.u64(FLAG_EOS);
        stats.other(8);
        lastBlock = null;
    }
}
