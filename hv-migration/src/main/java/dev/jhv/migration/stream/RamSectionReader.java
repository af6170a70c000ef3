package dev.jhv.migration.stream;

import dev.jhv.core.memory.PageResidency;
import dev.jhv.core.memory.RamPrefaulter;
import dev.jhv.core.vmstate.VMStateException;
import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.migration.xbzrle.XbzrleCodec;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

import static dev.jhv.migration.stream.RamSectionWriter.FLAG_CONTINUE;
import static dev.jhv.migration.stream.RamSectionWriter.FLAG_EOS;
import static dev.jhv.migration.stream.RamSectionWriter.FLAG_MASK;
import static dev.jhv.migration.stream.RamSectionWriter.FLAG_MEM_SIZE;
import static dev.jhv.migration.stream.RamSectionWriter.FLAG_PAGE;
import static dev.jhv.migration.stream.RamSectionWriter.FLAG_XBZRLE;
import static dev.jhv.migration.stream.RamSectionWriter.FLAG_ZERO;
import static dev.jhv.migration.stream.RamSectionWriter.PAGE_SIZE;

/**
 * Reads RAM section bodies (see {@link RamSectionWriter}) into the destination's blocks, or, without blocks, only
 * counts them (the analyzer). Every offset, name and flag from the stream is checked.
 */
public final class RamSectionReader {
    private static final int MAX_BLOCKS = 256;

    /** A block as the stream's block list names it. */
    public record BlockInfo(String name, long size) { }

    private final List<RamBlock> destination;
    private final RamStats stats = new RamStats();
    private List<BlockInfo> streamBlocks;
    private final byte[] page = new byte[PAGE_SIZE];
    /**
     * A destination block by name, with which of its pages were never written (kept current as this reader writes)
     * and what backs its memory ahead of this reader.
     */
    private record Target(MemorySegment segment, PageResidency residency, RamPrefaulter prefaulter) { }

    private final Map<String, Target> targets = new HashMap<>();
    /** The block of the previous page record in the current section (what CONTINUE refers to). */
    private BlockInfo last;
    /** The RAM section version of the body being read. */
    private int version = RamStateEntry.VERSION;
    private final CRC32C crc = new CRC32C();

    /** @param destination the blocks to fill, or null to only parse and count */
    public RamSectionReader(List<RamBlock> destination) {
        this(destination, true);
    }

    /**
     * @param destination the blocks the stream must match, or null to only parse and count
     * @param write       false: check every record against {@code destination} (block list, offsets, page CRCs)
     *                    without writing guest memory, so a damaged stream can be refused before a load begins
     */
    public RamSectionReader(List<RamBlock> destination, boolean write) {
        this.destination = destination == null ? null : List.copyOf(destination);
        if (destination != null && write) {
            for (RamBlock b : destination) {
                targets.put(b.name(), new Target(b.segment(), new PageResidency(b.segment()),
                        new RamPrefaulter(b.segment(), b.name())));
            }
        }
    }

    public RamStats stats() {
        return stats;
    }

    /** The block list the stream sent, or null before it. */
    public List<BlockInfo> streamBlocks() {
        return streamBlocks;
    }

    private static MigrationException error(VMStateInput in, long at, String reason) {
        String where = in.section() != null ? "section '" + in.section() + "' " : "";
        return new MigrationException("RAM " + where + "record at stream offset " + at + ": " + reason);
    }

    /** Reads records of the current RAM section version up to and including EOS. */
    public void readBody(VMStateInput in) {
        readBody(in, RamStateEntry.VERSION);
    }

    /** Reads records of RAM section version {@code version} (1 or 2) up to and including EOS. */
    public void readBody(VMStateInput in, int version) {
        if (version < RamStateEntry.MINIMUM_VERSION || version > RamStateEntry.VERSION) {
            throw new MigrationException("RAM section " + (in.section() == null ? "" : "'" + in.section() + "' ")
                    + "version " + version + " is not one this build reads (" + RamStateEntry.MINIMUM_VERSION
                    + ".." + RamStateEntry.VERSION + ")");
        }
        this.version = version;
        try {
            last = null;
            // one record per call: a method called per page is compiled after a few hundred pages, where a loop
            // in one method would run interpreted until its back-edge counter triggers on-stack replacement
            while (readRecord(in)) {
                // next record
            }
        } catch (VMStateException e) {
            throw new MigrationException("RAM section " + (in.section() == null ? "" : "'" + in.section() + "' ")
                    + "at stream offset " + e.offset() + ": " + e.reason(), e);
        }
    }

    /** Reads one record; false once it was EOS. */
    private boolean readRecord(VMStateInput in) {
        long at = in.offset();
        long header = in.u64("ram");
        int flags = (int) (header & FLAG_MASK);
        long addr = header & ~(long) FLAG_MASK;
        int kind = flags & ~FLAG_CONTINUE;
        if (flags == FLAG_EOS && addr == 0) {
            stats.other(8);
            return false;
        }
        if (kind == FLAG_MEM_SIZE && (flags & FLAG_CONTINUE) == 0) {
            readBlockList(in, at, addr);
            return true;
        }
        if (kind != FLAG_ZERO && kind != FLAG_PAGE && (kind != FLAG_XBZRLE || version < 2)) {
            throw error(in, at, String.format("unknown flags 0x%03x", flags));
        }
        BlockInfo block = pageBlock(in, at, flags);
        if (addr < 0 || addr >= block.size()) {
            throw error(in, at, String.format("page offset 0x%x is beyond block '%s' (0x%x bytes)", addr,
                    block.name(), block.size()));
        }
        Target target = targets.get(block.name());
        if (kind == FLAG_ZERO) {
            readZeroPage(in, at, block, target, addr);
        } else if (kind == FLAG_XBZRLE) {
            readXbzrlePage(in, at, block, target, addr);
        } else {
            readNormalPage(in, at, block, target, addr);
        }
        return true;
    }

    /** The block a page record is in: named by the record, or the previous one's with CONTINUE. */
    private BlockInfo pageBlock(VMStateInput in, long at, int flags) {
        if (streamBlocks == null) {
            throw error(in, at, "page before the block list");
        }
        if ((flags & FLAG_CONTINUE) != 0) {
            if (last == null) {
                throw error(in, at, "CONTINUE without a previous page in this section");
            }
            return last;
        }
        String name = in.string8("ram");
        BlockInfo block = find(name);
        if (block == null) {
            throw error(in, at, "unknown RAM block '" + name + "'");
        }
        last = block;
        return block;
    }

    private void readZeroPage(VMStateInput in, long at, BlockInfo block, Target target, long addr) {
        long pages;
        if (version == 1) {
            int fill = in.u8("ram");
            if (fill != 0) {
                throw error(in, at, "zero page with fill byte " + fill);
            }
            pages = 1;
        } else {
            pages = in.u32("ram");
            if (pages == 0 || pages > (block.size() - addr) / PAGE_SIZE) {
                throw error(in, at, String.format("a run of %d zero pages from 0x%x does not fit block '%s' "
                        + "(0x%x bytes)", pages, addr, block.name(), block.size()));
            }
        }
        if (target != null) {
            for (long p = addr, end = addr + pages * PAGE_SIZE; p < end; p += PAGE_SIZE) {
                // a page never written already reads as zero; filling it would allocate it
                if (!target.residency().knownZero(p)) {
                    target.segment().asSlice(p, PAGE_SIZE).fill((byte) 0);
                }
            }
        }
        stats.zero(pages, in.offset() - at);
    }

    /** An XBZRLE record: applied to the page this machine holds (no cache here, as in QEMU), then CRC-checked. */
    private void readXbzrlePage(VMStateInput in, long at, BlockInfo block, Target target, long addr) {
        int len = in.u16("ram");
        if (len == 0 || len > PAGE_SIZE) {
            throw error(in, at, String.format("XBZRLE page 0x%x of block '%s' has an encoding of %d bytes "
                    + "(1..%d)", addr, block.name(), len, PAGE_SIZE));
        }
        if (encoded == null) {
            encoded = new byte[PAGE_SIZE];
        }
        in.readFully("ram", encoded, 0, len);
        // without a machine (the analyzer, a check before loading) the encoding is still checked on a scratch page
        MemorySegment data = target != null ? target.segment().asSlice(addr, PAGE_SIZE) : MemorySegment.ofArray(page);
        try {
            XbzrleCodec.decode(encoded, 0, len, data, 0, PAGE_SIZE);
        } catch (XbzrleCodec.DecodeException e) {
            throw error(in, at, String.format("XBZRLE page 0x%x of block '%s' cannot be decoded: %s", addr,
                    block.name(), e.getMessage()));
        }
        long stored = in.u32("ram");
        if (target != null) {
            target.residency().written(addr);
            target.prefaulter().written(addr);
            checkCrc(in, at, block, addr, data, stored);
        }
        stats.xbzrle(in.offset() - at);
    }

    private byte[] encoded;

    private void checkCrc(VMStateInput in, long at, BlockInfo block, long addr, MemorySegment data, long stored) {
        crc.reset();
        crc.update(data.asByteBuffer());
        if (crc.getValue() != stored) {
            throw error(in, at, String.format("page 0x%x of block '%s' is damaged: its bytes have CRC32C "
                    + "0x%08x, the stream says 0x%08x", addr, block.name(), crc.getValue(), stored));
        }
    }

    private void readNormalPage(VMStateInput in, long at, BlockInfo block, Target target, long addr) {
        MemorySegment data;
        if (target != null) {
            in.readFully("ram", target.segment(), addr, PAGE_SIZE);
            target.residency().written(addr);
            target.prefaulter().written(addr);
            data = target.segment().asSlice(addr, PAGE_SIZE);
        } else {
            in.readFully("ram", page, 0, PAGE_SIZE);
            data = MemorySegment.ofArray(page);
        }
        if (version >= 2) {
            checkCrc(in, at, block, addr, data, in.u32("ram"));
        }
        stats.normal(in.offset() - at);
    }

    private void readBlockList(VMStateInput in, long at, long total) {
        if (streamBlocks != null) {
            throw error(in, at, "a second block list");
        }
        var blocks = new ArrayList<BlockInfo>();
        long sum = 0;
        while (sum < total) {
            if (blocks.size() >= MAX_BLOCKS) {
                throw error(in, at, "more than " + MAX_BLOCKS + " RAM blocks");
            }
            String name = in.string8("ram");
            long size = in.u64("ram");
            if (size <= 0 || size % PAGE_SIZE != 0 || size > total - sum) {
                throw error(in, at, String.format("block '%s' has size 0x%x, which does not fit the total 0x%x",
                        name, size, total));
            }
            if (blocks.stream().anyMatch(b -> b.name().equals(name))) {
                throw error(in, at, "block '" + name + "' listed twice");
            }
            blocks.add(new BlockInfo(name, size));
            sum += size;
        }
        stats.other(in.offset() - at);
        if (destination != null) {
            var mine = destination.stream().map(b -> new BlockInfo(b.name(), b.size())).toList();
            if (!mine.equals(blocks)) {
                throw new MigrationException("RAM blocks differ: the stream has " + describe(blocks)
                        + ", this machine " + describe(mine));
            }
        }
        streamBlocks = List.copyOf(blocks);
    }

    private static String describe(List<BlockInfo> l) {
        var sb = new StringBuilder("[");
        for (BlockInfo b : l) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(b.name()).append(' ').append(b.size() >> 20).append(" MiB");
        }
        return sb.append(']').toString();
    }

    private BlockInfo find(String name) {
        for (BlockInfo b : streamBlocks) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        return null;
    }
}
