package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateRoundTrip;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class MigrationStreamTest {

    @Test
    void everyDescriptionRoundTrips() {
        // default, the subsection forced on, off, all on, all off
        assertThat(VMStateRoundTrip.check(TestDevice.V2, TestDevice.sample(3), TestDevice::new)).isEqualTo(5);
        assertThat(VMStateRoundTrip.check(TestDevice.V3, TestDevice.sample(3), TestDevice::new)).isEqualTo(5);
        assertThat(VMStateRoundTrip.check(TestDevice.V1, TestDevice.sample(3), TestDevice::new)).isEqualTo(1);
    }

    @Test
    void saveAndLoadCarryDevicesAndRam() {
        var src = Fixture.source(TestDevice.V2);
        byte[] stream = src.save();
        var dst = Fixture.destination();
        var r = dst.load(stream);
        assertThat(r.bytes()).isEqualTo(stream.length);
        assertThat(r.deviceSections()).isEqualTo(2);
        // START, PARTs of 3 pages (3 of them for 8 pages), END
        assertThat(r.iterativeSections()).isEqualTo(5);
        assertThat(dst.deviceState()).isEqualTo(src.deviceState());
        StreamCompatibilityTest.assertRam(dst);
        assertThat(dst.ramEntry.loadStats().zeroPages()).isEqualTo(6);
        assertThat(dst.ramEntry.loadStats().normalPages()).isEqualTo(2);
        assertThat(src.ramEntry.saveStats().pages()).isEqualTo(8);
    }

    @Test
    void zeroPagesTakeAFewBytesAndNormalPagesAreWhole() {
        var seg = Arena.ofAuto().allocate(64 * 4096L);
        seg.set(ValueLayout.JAVA_BYTE, 10 * 4096 + 7, (byte) 1);
        var stats = new RamStats();
        byte[] body = ramBody(new RamBlock("pc.ram", seg), 0, 64, stats);
        // block list 8+7+8; zero pages 0..9 as one run 8+7+4; page 10 8+4096+4 (CRC); a run of the 53 zero pages
        // 11..63 8+4; EOS 8
        assertThat(body.length).isEqualTo(23 + 19 + 4108 + 12 + 8);
        assertThat(stats.zeroPages()).isEqualTo(63);
        assertThat(stats.normalPages()).isEqualTo(1);

        var dstSeg = Arena.ofAuto().allocate(64 * 4096L);
        dstSeg.fill((byte) 0x77);
        var reader = new RamSectionReader(List.of(new RamBlock("pc.ram", dstSeg)));
        reader.readBody(new dev.jhv.core.vmstate.VMStateInput(body));
        assertThat(dstSeg.asSlice(0, 64 * 4096L).mismatch(seg)).isEqualTo(-1);
    }

    /**
     * A live migration reads pages a running guest is writing: what is sent and its CRC must be the same bytes, or the
     * destination refuses a stream nothing damaged (seen once in LiveMigrationIT before the writer copied each page).
     */
    @Test
    void aPageWrittenWhileItIsSentStillLoads() throws Exception {
        var seg = Arena.ofShared().allocate(4096L * 4);
        var block = new RamBlock("pc.ram", seg);
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread guest = Thread.ofPlatform().start(() -> {
            long v = 1;
            while (!stop.get()) {
                for (long off = 0; off < seg.byteSize(); off += 8) {
                    seg.set(ValueLayout.JAVA_LONG, off, v++);
                }
            }
        });
        try {
            for (int i = 0; i < 2000; i++) {
                byte[] body = ramBody(block, 0, 4, new RamStats());
                var reader = new RamSectionReader(List.of(new RamBlock("pc.ram", Arena.ofAuto().allocate(4096L * 4))));
                reader.readBody(new dev.jhv.core.vmstate.VMStateInput(body)); // throws on a CRC mismatch
            }
        } finally {
            stop.set(true);
            guest.join();
        }
    }

    @Test
    void aDamagedPageIsNamedByItsBlockAndAddress() {
        var seg = Arena.ofAuto().allocate(16 * 4096L);
        seg.asSlice(3 * 4096L, 4096).fill((byte) 0x3c);
        byte[] body = ramBody(new RamBlock("pc.ram", seg), 0, 16, new RamStats());
        int pageData = 23 + 19 + 8; // block list, the run of pages 0..2, page 3's header
        assertThat(body[pageData + 100]).isEqualTo((byte) 0x3c);
        body[pageData + 100] ^= 0x01;
        var reader = new RamSectionReader(List.of(new RamBlock("pc.ram", Arena.ofAuto().allocate(16 * 4096L))));
        var e = catchThrowableOfType(MigrationException.class,
                () -> reader.readBody(new dev.jhv.core.vmstate.VMStateInput(body)));
        assertThat(e.getMessage()).contains("page 0x3000 of block 'pc.ram' is damaged", "stream offset 42");
    }

    @Test
    void aZeroRunPastItsBlockIsRefused() {
        var seg = Arena.ofAuto().allocate(4 * 4096L);
        byte[] body = ramBody(new RamBlock("pc.ram", seg), 1, 4, new RamStats());
        assertThat(body[23 + 8 + 7 + 3]).isEqualTo((byte) 3); // the run's be32 count
        body[23 + 8 + 7 + 3] = 4; // pages 1..4 of a 4-page block
        var reader = new RamSectionReader(List.of(new RamBlock("pc.ram", Arena.ofAuto().allocate(4 * 4096L))));
        var e = catchThrowableOfType(MigrationException.class,
                () -> reader.readBody(new dev.jhv.core.vmstate.VMStateInput(body)));
        assertThat(e.getMessage()).contains("a run of 4 zero pages from 0x1000 does not fit block 'pc.ram'");
    }

    @Test
    void dirtyPagesMarkedBetweenPassesAreSentAgain() {
        var src = Fixture.source(TestDevice.V2);
        var bos = new ByteArrayOutputStream();
        var w = new MigrationStreamWriter(bos, src.registry);
        w.writeHeader(src.config());
        w.iterativeSetup();
        while (!w.iterativePass()) {
            // first pass: all 8 pages, 3 per PART
        }
        assertThat(src.ramEntry.pendingPages()).isZero();
        // the guest writes pages 2 and 7 and page 1 again
        src.ram.set(ValueLayout.JAVA_BYTE, 2 * 4096L + 5, (byte) 0x22);
        src.ram.set(ValueLayout.JAVA_BYTE, 7 * 4096L, (byte) 0x77);
        src.ram.set(ValueLayout.JAVA_BYTE, 4096L, (byte) 0x11);
        src.ramEntry.markDirty(0, new long[] {(1 << 2) | (1 << 7) | (1 << 1) | (1L << 40)});
        assertThat(src.ramEntry.pendingPages()).isEqualTo(3);
        w.newPass();
        assertThat(w.iterativePass()).isTrue();
        src.ram.set(ValueLayout.JAVA_BYTE, 3 * 4096L, (byte) 0x33);
        src.ramEntry.markDirty(0, new long[] {1 << 3});
        w.complete();
        assertThat(src.ramEntry.saveStats().pages()).isEqualTo(8 + 3 + 1);

        var dst = Fixture.destination();
        dst.load(bos.toByteArray());
        assertThat(dst.ram.asSlice(0, Fixture.PAGES * 4096L).mismatch(src.ram)).isEqualTo(-1);
    }

    /** A hook whose work covers a chunk (the dirty log's) is told once per chunk and pass, before its first page. */
    @Test
    void aHookCoveringAChunkIsToldOncePerChunk() {
        var src = Fixture.source(TestDevice.V2);
        var announced = new java.util.ArrayList<Long>();
        src.ramEntry.beforeSending((block, page) -> {
            announced.add(page);
            return page - page % 4 + 4;
        });
        var w = new MigrationStreamWriter(new ByteArrayOutputStream(), src.registry);
        w.writeHeader(src.config());
        w.iterativeSetup();
        while (!w.iterativePass()) {
            // first pass: all 8 pages
        }
        assertThat(announced).containsExactly(0L, 4L);
        // pages in the chunk the last call covered: a new pass tells the hook again
        src.ramEntry.markDirty(0, new long[] {(1 << 5) | (1 << 6)});
        w.newPass();
        assertThat(w.iterativePass()).isTrue();
        assertThat(announced).containsExactly(0L, 4L, 5L);
    }

    @Test
    void everyPageIsAnnouncedJustBeforeItIsRead() {
        var src = Fixture.source(TestDevice.V2);
        var announced = new java.util.ArrayList<Long>();
        src.ramEntry.beforeSending((block, page) -> {
            assertThat(block).isZero();
            announced.add(page);
            // a guest write right after the log is re-armed for the page: what is sent must already hold it
            src.ram.set(ValueLayout.JAVA_BYTE, page * 4096L + 9, (byte) (0x40 + announced.size()));
            return page + 1; // what it did covers this page only: told of every page
        });
        var bos = new ByteArrayOutputStream();
        var w = new MigrationStreamWriter(bos, src.registry);
        w.writeHeader(src.config());
        w.iterativeSetup();
        while (!w.iterativePass()) {
            // first pass: all pages, 3 per PART
        }
        assertThat(announced).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L);
        src.ramEntry.markDirty(0, new long[] {(1 << 2) | (1 << 7)});
        w.newPass();
        assertThat(w.iterativePass()).isTrue();
        assertThat(announced).hasSize(10).endsWith(2L, 7L);
        src.ramEntry.beforeSending(null);
        src.ramEntry.markDirty(0, new long[] {1 << 5});
        w.complete();
        assertThat(announced).as("no hook, no announcement").hasSize(10);

        var dst = Fixture.destination();
        dst.load(bos.toByteArray());
        assertThat(dst.ram.get(ValueLayout.JAVA_BYTE, 2 * 4096L + 9)).isEqualTo((byte) 0x49);
        assertThat(dst.ram.get(ValueLayout.JAVA_BYTE, 7 * 4096L + 9)).isEqualTo((byte) 0x4a);
        assertThat(dst.ram.asSlice(0, Fixture.PAGES * 4096L).mismatch(src.ram)).isEqualTo(-1);
    }

    @Test
    void zeroPageCheckSeesEveryByte() {
        var seg = Arena.ofAuto().allocate(3 * 4096L);
        assertThat(RamSectionWriter.isZeroPage(seg, 4096)).isTrue();
        for (int at : new int[] {0, 1, 7, 8, 63, 64, 65, 1023, 1024, 2047, 3000, 4095}) {
            seg.set(ValueLayout.JAVA_BYTE, 4096 + at, (byte) 0x80);
            assertThat(RamSectionWriter.isZeroPage(seg, 4096)).as("byte %d set", at).isFalse();
            assertThat(RamSectionWriter.isZeroPage(seg, 0)).isTrue();
            assertThat(RamSectionWriter.isZeroPage(seg, 8192)).isTrue();
            seg.set(ValueLayout.JAVA_BYTE, 4096 + at, (byte) 0);
        }
    }

    @Test
    void ramBlocksOfAnotherSizeAreRefused() {
        var stream = Fixture.source(TestDevice.V2).save();
        var other = new SaveStateRegistry();
        other.register(new RamStateEntry(List.of(new RamBlock("pc.ram", Arena.ofAuto().allocate(4 * 4096L)))));
        assertThatThrownBy(() -> new MigrationStreamReader(new ByteArrayInputStream(stream), other, null).load())
                .isInstanceOf(MigrationException.class)
                .hasMessageContaining("RAM blocks differ")
                .hasMessageContaining("pc.ram 0 MiB");
    }

    @Test
    void configurationMismatchListsEveryDifferenceBeforeLoading() {
        byte[] stream = Fixture.source(TestDevice.V2).save();
        var dst = Fixture.destination();
        byte[] before = dst.deviceState();
        var destConfig = new MachineConfiguration("jhv-q35", 2 * Fixture.PAGES * 4096L,
                List.of(new MachineConfiguration.MemoryRegion("pc.ram", 0, 2 * Fixture.PAGES * 4096L)), 2,
                "host", "sha256:ffff", List.of("ram/0", "testdev/0", "serial/0"));
        var e = catchThrowableOfType(MigrationException.class,
                () -> new MigrationStreamReader(new ByteArrayInputStream(stream), dst.registry, destConfig).load());
        assertThat(e.getMessage()).contains("machine type", "memory size: stream 32768 bytes, destination 65536 bytes",
                "memory layout", "vCPUs: stream 1, destination 2 (-smp)", "CPU model", "CPUID",
                "device testdev/1: in the stream, not on the destination",
                "device serial/0: on the destination, not in the stream");
        assertThat(dst.deviceState()).isEqualTo(before);
        assertThat(dst.ram.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 0x5a);
    }

    @Test
    void postLoadRejectionRestoresEveryDevice() {
        byte[] stream = Fixture.source(TestDevice.V2).save();
        var dst = Fixture.destination();
        dst.dev1.reject = "counter out of range";
        byte[] before = dst.deviceState();
        var e = catchThrowableOfType(MigrationException.class, () -> dst.load(stream));
        assertThat(e.getMessage()).contains("load of 'testdev' instance 1", "post-load rejected the state: "
                + "counter out of range");
        assertThat(dst.deviceState()).isEqualTo(before);
        assertThat(dst.dev0.reg).isZero();
    }

    @Test
    void streamWithoutADeviceTheMachineHasIsRefused() {
        var src = new Fixture(TestDevice.V2, TestDevice.sample(0), TestDevice.sample(1));
        src.registry.unregister(src.registry.find("testdev", 1));
        var bos = new ByteArrayOutputStream();
        new MigrationStreamWriter(bos, src.registry).saveAll(Fixture.destination().config());
        var dst = Fixture.destination();
        assertThatThrownBy(() -> dst.load(bos.toByteArray())).isInstanceOf(MigrationException.class)
                .hasMessageContaining("no state for 'testdev' instance 1");
    }

    @Test
    void everyTruncationIsRefusedNamingWhereAndChangesNoDevice() {
        byte[] full = Golden.read(Golden.CURRENT);
        int deviceStart = deviceSectionStart(full);
        for (int n = 0; n < full.length; n++) {
            var dst = Fixture.destination();
            byte[] before = dst.deviceState();
            byte[] cut = Arrays.copyOf(full, n);
            var e = catchThrowableOfType(MigrationException.class, () -> dst.load(cut));
            assertThat(e).as("truncated at %d", n).isNotNull();
            assertThat(e.getMessage()).contains("offset");
            if (n >= deviceStart + 21 && n <= deviceStart + 30) { // inside the body: reg, counter, id
                assertThat(e.getMessage()).as("truncated at %d", n).contains("load of 'testdev' instance 0",
                        "field 'testdev");
            }
            assertThat(dst.deviceState()).isEqualTo(before);
        }
    }

    @Test
    void everyFlippedByteIsRefusedAndChangesNoDevice() {
        byte[] full = Golden.read(Golden.CURRENT);
        int deviceStart = deviceSectionStart(full);
        for (int i = 0; i < full.length; i++) {
            var dst = Fixture.destination();
            byte[] before = dst.deviceState();
            byte[] bad = full.clone();
            bad[i] ^= 0x10;
            var e = catchThrowableOfType(MigrationException.class, () -> dst.load(bad));
            assertThat(e).as("flipped byte %d", i).isNotNull();
            if (i >= deviceStart + 21 && i < deviceStart + 30) {
                assertThat(e.getMessage()).as("flipped byte %d", i).contains("section 'testdev' instance 0",
                        "damaged");
            }
            assertThat(dst.deviceState()).isEqualTo(before);
        }
    }

    @Test
    void aFlippedByteInADeviceFieldNamesThatField() {
        byte[] full = Golden.read(Golden.CURRENT);
        int start = deviceSectionStart(full);
        // after the 21-byte header: reg (1 byte), counter (4), id (4)
        for (int i = 0; i < 9; i++) {
            byte[] bad = full.clone();
            bad[start + 21 + i] ^= 0x04;
            var dst = Fixture.destination();
            byte[] before = dst.deviceState();
            var e = catchThrowableOfType(MigrationException.class, () -> dst.load(bad));
            String field = i == 0 ? "reg" : i < 5 ? "counter" : "id";
            assertThat(e.getMessage()).as("byte %d", i).contains("section 'testdev' instance 0", "is damaged",
                    "the bytes of field 'testdev/" + field + "' differ from what the source wrote");
            assertThat(dst.deviceState()).isEqualTo(before);
        }
    }

    @Test
    void aDamagedSectionOfAnOlderWriterIsStillNamedBySection() {
        // the frozen version 2 stream has no field checksums in its description
        byte[] full = Golden.read(Golden.V2);
        byte[] bad = full.clone();
        bad[deviceSectionStart(full) + 22] ^= 0x04;
        var e = catchThrowableOfType(MigrationException.class, () -> Fixture.destination().load(bad));
        assertThat(e.getMessage()).contains("section 'testdev' instance 0", "is damaged").doesNotContain("field");
    }

    @Test
    void flippedDeviceFieldIsNamed() {
        byte[] full = Golden.read(Golden.CURRENT);
        int start = deviceSectionStart(full);
        // header: type, id, name "testdev" (1+7), instance, version = 1+4+8+4+4; then reg, counter, id, then the
        // subsection marker: make it an invalid marker
        int marker = start + 21 + 1 + 4 + 4;
        assertThat(full[marker]).isEqualTo((byte) 0x05);
        byte[] bad = full.clone();
        bad[marker] = 0x09;
        var e = catchThrowableOfType(MigrationException.class, () -> Fixture.destination().load(bad));
        assertThat(e.getMessage()).contains("load of 'testdev' instance 0", "field 'testdev'", "found 0x09");
    }

    /** Offset of the first FULL section (instance 0 of testdev). */
    static int deviceSectionStart(byte[] s) {
        byte[] header = {StreamFormat.SECTION_FULL, 0, 0, 0, 1, 7, 't', 'e', 's', 't', 'd', 'e', 'v'};
        return Golden.indexOf(s, header);
    }

    /** A RAM section body with the block list and pages [from, to) of {@code block}, then EOS. */
    static byte[] ramBody(RamBlock block, int from, int to, RamStats stats) {
        var out = new dev.jhv.core.vmstate.VMStateOutput();
        var w = new RamSectionWriter(out, stats);
        w.writeBlockList(List.of(block));
        w.writePages(block, from, to);
        w.writeEos();
        return out.toByteArray();
    }
}
