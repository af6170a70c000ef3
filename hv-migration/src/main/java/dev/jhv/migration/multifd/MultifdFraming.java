package dev.jhv.migration.multifd;

import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateOutput;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.RamBlock;
import dev.jhv.migration.stream.RamSectionReader;
import dev.jhv.migration.stream.RamSectionWriter;

import java.util.List;

/**
 * What a multifd channel carries. It opens with a handshake: be32 magic "JHMF", be32 version, be32 channel index,
 * be32 channel count, and a RAM body with the block list (checked against the destination's, as the main stream's
 * is). Then packets, each a u8 type: {@link #DATA} and a RAM body (pages as {@link RamSectionWriter} writes them:
 * zero runs, a CRC32C per page, up to EOS), {@link #SYNC} and a be64 sync point number, or {@link #END}.
 */
final class MultifdFraming {
    static final long MAGIC = 0x4a484d46L; // "JHMF"
    static final long VERSION = 1;
    static final int DATA = 1;
    static final int SYNC = 2;
    static final int END = 3;
    /** Pages per DATA packet (QEMU's multifd packet is 512 KiB of 4 KiB pages too). */
    static final int PACKET_PAGES = 128;

    private MultifdFraming() { }

    /** What a channel's handshake says. */
    record Hello(int index, int count) { }

    static void writeHello(VMStateOutput out, int index, int count, List<RamBlock> blocks) {
        out.u32(MAGIC);
        out.u32(VERSION);
        out.u32(index);
        out.u32(count);
        var w = new RamSectionWriter(out);
        w.writeBlockList(blocks);
        w.writeEos();
    }

    /** Reads and checks a handshake; its block list goes into {@code reader}, which then reads the pages. */
    static Hello readHello(VMStateInput in, RamSectionReader reader) {
        long magic = in.u32("multifd handshake");
        if (magic != MAGIC) {
            throw new MigrationException(String.format("a connection that is not a jhv multifd channel "
                    + "(magic 0x%08x, expected 0x%08x \"JHMF\")", magic, MAGIC));
        }
        long version = in.u32("multifd handshake");
        if (version != VERSION) {
            throw new MigrationException("multifd channel version " + version + ", this build reads " + VERSION);
        }
        long index = in.u32("multifd handshake");
        long count = in.u32("multifd handshake");
        if (count < 1 || count > 255 || index >= count) {
            throw new MigrationException("multifd channel " + index + " of " + count + " is not a valid channel");
        }
        reader.readBody(in);
        return new Hello((int) index, (int) count);
    }
}
