package dev.jhv.migration.postcopy;

import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateOutput;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.RamBlock;
import dev.jhv.migration.stream.RamSectionWriter;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The pages postcopy sends after the stream's trailer, in RAM records' shape (see {@link RamSectionWriter}): be64
 * page offset | flags, then u8 block index; a PAGE has its 4096 bytes and their be32 CRC32C, a ZERO nothing more;
 * EOS (no block index) ends them. A recovered link starts with {@link #RESUME_MAGIC} and goes on the same way.
 */
final class PageRecords {
    static final int PAGE = RamSectionWriter.PAGE_SIZE;
    /** "JHVR": the first word of a resumed postcopy stream. */
    static final int RESUME_MAGIC = 0x4a48_5652;

    /** One record read: its block index and offset; zero or not; EOS has block -1. */
    record Record(int block, long offset, boolean zero) {
        boolean end() {
            return block < 0;
        }
    }

    private final List<RamBlock> blocks;
    private final CRC32C crc = new CRC32C();
    private final byte[] copy = new byte[PAGE];

    PageRecords(List<RamBlock> blocks) {
        this.blocks = blocks;
    }

    /** Writes page {@code offset} of block {@code block}; returns the bytes written. */
    long write(VMStateOutput out, int block, long offset) {
        MemorySegment seg = blocks.get(block).segment();
        if (RamSectionWriter.isZeroPage(seg, offset)) {
            out.u64(offset | RamSectionWriter.FLAG_ZERO);
            out.u8(block);
            return 9;
        }
        out.u64(offset | RamSectionWriter.FLAG_PAGE);
        out.u8(block);
        MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_BYTE, offset, copy, 0, PAGE);
        out.bytes(copy, 0, PAGE);
        crc.reset();
        crc.update(copy, 0, PAGE);
        out.u32(crc.getValue());
        return 9 + PAGE + 4;
    }

    static void writeEnd(VMStateOutput out) {
        out.u64(RamSectionWriter.FLAG_EOS);
    }

    /** Reads the next record; a PAGE's bytes go to {@code page} (native, one page) and are checked. */
    Record read(VMStateInput in, MemorySegment page) {
        long at = in.offset();
        long header = in.u64("postcopy page");
        int flags = (int) (header & (PAGE - 1));
        long offset = header & ~(long) (PAGE - 1);
        if (flags == RamSectionWriter.FLAG_EOS && offset == 0) {
            return new Record(-1, 0, false);
        }
        if (flags != RamSectionWriter.FLAG_PAGE && flags != RamSectionWriter.FLAG_ZERO) {
            throw error(at, String.format("unknown flags 0x%03x", flags));
        }
        int block = in.u8("postcopy page");
        if (block >= blocks.size() || offset >= blocks.get(block).size()) {
            throw error(at, String.format("page 0x%x of block %d is not a page of this machine", offset, block));
        }
        if (flags == RamSectionWriter.FLAG_ZERO) {
            return new Record(block, offset, true);
        }
        in.readFully("postcopy page", page, 0, PAGE);
        long stored = in.u32("postcopy page");
        crc.reset();
        crc.update(page.asByteBuffer());
        if (crc.getValue() != stored) {
            throw error(at, String.format("page 0x%x of block '%s' is damaged: CRC32C 0x%08x, the stream says "
                    + "0x%08x", offset, blocks.get(block).name(), crc.getValue(), stored));
        }
        return new Record(block, offset, false);
    }

    private static MigrationException error(long at, String why) {
        return new MigrationException("postcopy page record at stream offset " + at + ": " + why);
    }
}
