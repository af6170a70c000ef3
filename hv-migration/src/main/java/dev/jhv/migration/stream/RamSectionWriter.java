package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateOutput;

import dev.jhv.core.memory.PageResidency;

import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the RAM part of a section body, QEMU's ram format in spirit. Each record starts with a be64 whose high
 * bits are a page-aligned offset and whose low 12 bits are flags:
 * <ul>
 * <li>{@code MEM_SIZE}: the offset field is the total RAM size; then for each block, u8 name length, name, be64
 *     size, until the sizes add up to the total. Sent once, in the START section.</li>
 * <li>{@code ZERO}: a page of zeros: [u8 name length, name unless CONTINUE], u8 fill byte (0).</li>
 * <li>{@code PAGE}: a page sent whole: [name unless CONTINUE], 4096 bytes.</li>
 * <li>{@code CONTINUE}: with ZERO or PAGE, the page is in the same block as the previous record of this body.</li>
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
    static final int FLAG_MASK = PAGE_SIZE - 1;


    private final VMStateOutput out;
    private final RamStats stats;
    private RamBlock lastBlock;
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
     * Whether the page at {@code offset} of the segment holds only zeros: an OR over its longs, checked every
     * 1 KiB so that a non-zero page (the common case) stops early. Scalar on purpose: the Vector API is an
     * incubator module whose start-up warning would land on every jhv's stderr.
     */
    public static boolean isZeroPage(MemorySegment seg, long offset) {
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

    /** Writes one page of a block, as a zero record when it holds only zeros. */
    public void writePage(RamBlock block, long offset) {
        if (offset < 0 || offset % PAGE_SIZE != 0 || offset >= block.size()) {
            throw new IllegalArgumentException("page offset 0x" + Long.toHexString(offset) + " is not a page of '"
                    + block.name() + "'");
        }
        long start = out.offset();
        boolean zero = residency.computeIfAbsent(block, b -> new PageResidency(b.segment())).knownZero(offset)
                || isZeroPage(block.segment(), offset);
        int flags = zero ? FLAG_ZERO : FLAG_PAGE;
        boolean cont = block == lastBlock;
        if (cont) {
            flags |= FLAG_CONTINUE;
        }
        out.u64(offset | flags);
        if (!cont) {
            out.string8(block.name());
            lastBlock = block;
        }
        if (zero) {
            out.u8(0);
            stats.zero(out.offset() - start);
        } else {
            out.bytes(block.segment().asSlice(offset, PAGE_SIZE));
            stats.normal(out.offset() - start);
        }
    }

    /** Writes pages [fromPage, toPage) of a block. */
    public void writePages(RamBlock block, long fromPage, long toPage) {
        for (long p = fromPage; p < toPage; p++) {
            writePage(block, p * PAGE_SIZE);
        }
    }

    /** Ends this section body. */
    public void writeEos() {
        out.u64(FLAG_EOS);
        stats.other(8);
        lastBlock = null;
    }
}
