package dev.jhv.migration.xbzrle;

import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateOutput;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.RamBlock;
import dev.jhv.migration.stream.RamSectionReader;
import dev.jhv.migration.stream.RamSectionWriter;
import dev.jhv.migration.stream.RamStats;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** XBZRLE records in RAM section bodies: a source with the cache, a destination without one. */
class XbzrleStreamTest {
    static final int PAGES = 16;
    static final int PAGE = 4096;

    final MemorySegment src = Arena.ofAuto().allocate(PAGES * (long) PAGE);
    final MemorySegment dst = Arena.ofAuto().allocate(PAGES * (long) PAGE);
    final RamBlock srcBlock = new RamBlock("pc.ram", src);
    final RamStats stats = new RamStats();
    final XbzrleSender sender = new XbzrleSender(List.of(srcBlock), 1 << 20, 0);
    final RamSectionReader reader = new RamSectionReader(List.of(new RamBlock("pc.ram", dst)));

    byte[] pass(boolean withList) {
        var out = new VMStateOutput();
        var w = new RamSectionWriter(out, stats);
        w.delta(sender);
        if (withList) {
            w.writeBlockList(List.of(srcBlock));
        }
        w.writePages(srcBlock, 0, PAGES);
        w.writeEos();
        return out.toByteArray();
    }

    void scribble(Random r) {
        for (int p = 0; p < PAGES; p++) {
            src.set(ValueLayout.JAVA_LONG_UNALIGNED, p * (long) PAGE + 8 * r.nextInt(512), r.nextLong());
        }
    }

    @Test
    void laterPassesGoAsEncodingsAndTheDestinationEndsEqual() {
        Random r = new Random(5);
        for (int i = 0; i < PAGES * PAGE; i += 8) {
            src.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
        }
        reader.readBody(new VMStateInput(pass(true)));
        assertThat(stats.xbzrlePages()).isZero();
        for (int pass = 2; pass <= 4; pass++) {
            sender.synced(pass, stats);
            scribble(r);
            byte[] body = pass(false);
            // 16 records of one changed word: far less than a page each
            assertThat(body.length).isLessThan(PAGES * 40);
            reader.readBody(new VMStateInput(body));
            assertThat(dst.mismatch(src)).isEqualTo(-1);
        }
        assertThat(stats.xbzrlePages()).isEqualTo(3 * PAGES);
        assertThat(sender.counters(stats).encodingRate()).isGreaterThan(50);
        // the switchover estimate: pending pages at what a re-sent page cost, not at a page each
        sender.synced(5, stats);
        assertThat(sender.expectedBytes(PAGES)).isPositive().isLessThan(PAGES * PAGE / 50);
        assertThat(reader.stats().xbzrlePages()).isEqualTo(3 * PAGES);
        sender.close();
    }

    @Test
    void aDamagedEncodingIsNamedByBlockAndAddress() {
        Random r = new Random(6);
        src.fill((byte) 1);
        reader.readBody(new VMStateInput(pass(true)));
        sender.synced(2, stats);
        scribble(r);
        byte[] body = pass(false);
        // the first record: be64 header, name "pc.ram", be16 length, then the encoding; make its first run too long
        int enc = 8 + 7 + 2;
        assertThat(body[7] & 0x40).isEqualTo(0x40);
        byte[] bad = body.clone();
        bad[enc] = (byte) 0xff;
        bad[enc + 1] = (byte) 0x7f;
        assertThatThrownBy(() -> new RamSectionReader(List.of(new RamBlock("pc.ram", dst)))
                .readBody(new VMStateInput(withBlockList(bad))))
                .isInstanceOf(MigrationException.class)
                .hasMessageContaining("XBZRLE page 0x0 of block 'pc.ram' cannot be decoded")
                .hasMessageContaining("passes the page end");
        // a changed byte of the encoding's data: decodes, but the CRC names the page
        byte[] flipped = body.clone();
        flipped[enc + 3] ^= 0x10;
        assertThatThrownBy(() -> reader.readBody(new VMStateInput(flipped)))
                .isInstanceOf(MigrationException.class)
                .hasMessageContaining("page 0x0 of block 'pc.ram' is damaged");
        sender.close();
    }

    /** A body that starts with the block list, so that a fresh reader takes it. */
    private byte[] withBlockList(byte[] body) {
        var out = new VMStateOutput();
        new RamSectionWriter(out).writeBlockList(List.of(srcBlock));
        out.bytes(body);
        return out.toByteArray();
    }
}
