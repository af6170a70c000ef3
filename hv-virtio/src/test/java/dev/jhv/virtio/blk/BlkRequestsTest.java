package dev.jhv.virtio.blk;

import dev.jhv.core.block.AsyncBlockIo;
import dev.jhv.core.block.BlockDevice;
import dev.jhv.core.block.RawFileBlockDevice;
import dev.jhv.core.block.ThreadPoolBlockIo;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.qcow2.BlockImages;
import dev.jhv.qcow2.Qcow2Image;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.GuestBuffer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.jhv.virtio.blk.BlkRequest.S_IOERR;
import static dev.jhv.virtio.blk.BlkRequest.S_OK;
import static dev.jhv.virtio.blk.BlkRequest.S_UNSUPP;
import static org.assertj.core.api.Assertions.assertThat;

/** virtio-blk requests from hand-built chains, run on real raw and qcow2 files (and on a hand-driven engine). */
class BlkRequestsTest {
    private static final int DISK = 1 << 20;
    private static final BlkRequests.Limits LIMITS = new BlkRequests.Limits(VirtioBlkConfig.MAX_SECTORS,
            VirtioBlkConfig.MAX_SECTORS, true, true);

    @TempDir
    Path dir;

    private final GuestRig g = new GuestRig();
    private final List<AutoCloseable> closing = new ArrayList<>();
    /** Chains handed back, with the used length. */
    private final List<long[]> used = Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
        g.close();
    }

    private Path rawImage() throws IOException {
        Path p = dir.resolve("disk.img");
        byte[] b = new byte[DISK];
        new Random(2).nextBytes(b);
        Files.write(p, b);
        return p;
    }

    private BlkRequests requests(AsyncBlockIo io, String serial, boolean ignoreFlush, boolean writeback) {
        return new BlkRequests(g.memory, io, LIMITS, serial, ignoreFlush, writeback, () -> { });
    }

    private BlkRequests onFile(BlockDevice dev) {
        closing.add(dev);
        var io = AsyncBlockIo.open(dev, "test", 4); // io_uring for a raw file where the host has it, else threads
        closing.add(io);
        return requests(io, "SERIAL-1", false, true);
    }

    /** Parses and submits {@code c}, then waits (bounded by the engine) until it was handed back. */
    private int run(BlkRequests r, DescriptorChain c) throws InterruptedException {
        var p = BlkRequest.parse(g.memory, 0, c);
        assertThat(p).isInstanceOf(BlkRequest.Ok.class);
        r.submit(((BlkRequest.Ok) p).request());
        r.awaitIdle((q, chain, written) -> used.add(new long[] {chain.head(), written}));
        assertThat(used).anyMatch(u -> u[0] == c.head());
        return g.status(c);
    }

    @Test
    void writeThenReadBackWithDataSplitAcrossDescriptorsAndMarksWhatTheDeviceWrote() throws Exception {
        Path p = rawImage();
        var r = onFile(new RawFileBlockDevice(p, false));
        GuestBuffer d1 = g.buffer(512);
        GuestBuffer d2 = g.buffer(1024);
        g.fill(d1, 0x11);
        g.fill(d2, 0x22);
        DescriptorChain w = g.request(BlkRequest.T_OUT, 8, false, d1, d2);
        assertThat(run(r, w)).isEqualTo(S_OK);
        assertThat(used.getLast()[1]).as("used length: the writable bytes, the status byte").isEqualTo(1);
        byte[] file = Files.readAllBytes(p);
        assertThat(file[8 * 512]).isEqualTo((byte) 0x11);
        assertThat(file[9 * 512]).isEqualTo((byte) 0x22);
        assertThat(file[11 * 512 - 1]).isEqualTo((byte) 0x22);

        g.memory.startWriteTracking();
        GuestBuffer in = g.buffer(4096 + 1536);
        DescriptorChain rd = g.request(BlkRequest.T_IN, 8, true, in);
        assertThat(run(r, rd)).isEqualTo(S_OK);
        assertThat(used.getLast()[1]).isEqualTo(in.length() + 1);
        assertThat(g.read(in)).isEqualTo(Arrays.copyOfRange(file, 8 * 512, 8 * 512 + in.length()));
        long[] dirty = g.memory.takeWritten(0);
        for (long gpa = in.gpa(); gpa < in.gpa() + in.length(); gpa += GuestMemory.PAGE_SIZE) {
            assertThat(bit(dirty, gpa)).as("page of IN data at 0x%x marked", gpa).isTrue();
        }
        assertThat(bit(dirty, rd.writable().getLast().gpa())).as("status byte marked").isTrue();
        assertThat(bit(dirty, 0)).as("a page the device did not write").isFalse();
    }

    private static boolean bit(long[] pages, long gpa) {
        long p = gpa / GuestMemory.PAGE_SIZE;
        return (pages[(int) (p >>> 6)] & (1L << p)) != 0;
    }

    /** Header, data and status byte in one writable layout: the header and data share a readable descriptor. */
    @Test
    void anyLayoutHeaderAndDataInOneDescriptor() throws Exception {
        Path p = rawImage();
        var r = onFile(new RawFileBlockDevice(p, false));
        GuestBuffer both = g.buffer(16 + 512);
        g.memory.write(both.gpa(), GuestRig.header16(BlkRequest.T_OUT, 3));
        g.memory.fill(both.gpa() + 16, 512, (byte) 0x5a);
        GuestBuffer dataAndStatus = g.buffer(513);
        assertThat(run(r, g.chain(List.of(both), List.of(g.buffer(1))))).isEqualTo(S_OK);
        assertThat(Files.readAllBytes(p)[3 * 512 + 100]).isEqualTo((byte) 0x5a);
        // IN with data and the status byte in one writable descriptor
        DescriptorChain in = g.chain(List.of(g.header(BlkRequest.T_IN, 3)), List.of(dataAndStatus));
        assertThat(run(r, in)).isEqualTo(S_OK);
        assertThat(g.memory.readByte(dataAndStatus.gpa() + 511)).isEqualTo(0x5a);
    }

    @ParameterizedTest
    @ValueSource(longs = {2047, 2048, Long.MAX_VALUE / 512, -1})
    void sectorsBeyondTheDiskAreIoErrors(long sector) throws Exception {
        var r = onFile(new RawFileBlockDevice(rawImage(), false));
        // 2047 + 2 sectors runs past the 2048-sector disk; 2048 starts at its end
        assertThat(run(r, g.request(BlkRequest.T_IN, sector, true, g.buffer(1024)))).isEqualTo(S_IOERR);
        assertThat(run(r, g.request(BlkRequest.T_OUT, sector, false, g.buffer(1024)))).isEqualTo(S_IOERR);
    }

    @Test
    void theLastSectorIsReadableAndPartialSectorsAreIoErrors() throws Exception {
        var r = onFile(new RawFileBlockDevice(rawImage(), false));
        assertThat(run(r, g.request(BlkRequest.T_IN, 2047, true, g.buffer(512)))).isEqualTo(S_OK);
        assertThat(run(r, g.request(BlkRequest.T_IN, 0, true, g.buffer(100)))).isEqualTo(S_IOERR);
        assertThat(run(r, g.request(BlkRequest.T_OUT, 0, false, g.buffer(513)))).isEqualTo(S_IOERR);
    }

    @Test
    void writesToAReadOnlyDriveAreIoErrors() throws Exception {
        Path p = rawImage();
        byte[] before = Files.readAllBytes(p);
        var r = onFile(new RawFileBlockDevice(p, true));
        assertThat(run(r, g.request(BlkRequest.T_OUT, 0, false, g.buffer(512)))).isEqualTo(S_IOERR);
        assertThat(run(r, g.request(BlkRequest.T_IN, 0, true, g.buffer(512)))).isEqualTo(S_OK);
        assertThat(run(r, g.request(BlkRequest.T_FLUSH, 0, false))).isEqualTo(S_OK);
        GuestBuffer seg = g.buffer(16);
        g.memory.write(seg.gpa(), GuestRig.segment(0, 8, 0));
        assertThat(run(r, g.request(BlkRequest.T_WRITE_ZEROES, 0, false, seg))).isEqualTo(S_IOERR);
        assertThat(Files.readAllBytes(p)).isEqualTo(before);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 7, 10, 12, 14, 0x7fff_ffff})
    void unknownTypesAreUnsupported(int type) throws Exception {
        var r = onFile(new RawFileBlockDevice(rawImage(), false));
        assertThat(run(r, g.request(type, 0, true, g.buffer(512)))).isEqualTo(S_UNSUPP);
    }

    @Test
    void theBarrierBitOfLegacyDriversIsIgnored() throws Exception {
        var r = onFile(new RawFileBlockDevice(rawImage(), false));
        assertThat(run(r, g.request(BlkRequest.T_IN | BlkRequest.T_BARRIER, 0, true, g.buffer(512))))
                .isEqualTo(S_OK);
    }

    @Test
    void getIdAnswersTheSerialNulTerminatedAndTruncatesAt20Bytes() throws Exception {
        var r = onFile(new RawFileBlockDevice(rawImage(), false));
        GuestBuffer id = g.buffer(20);
        g.fill(id, 0xff);
        assertThat(run(r, g.request(BlkRequest.T_GET_ID, 0, true, id))).isEqualTo(S_OK);
        byte[] got = g.read(id);
        assertThat(new String(got, 0, 8)).isEqualTo("SERIAL-1");
        assertThat(got[8]).isZero();
        assertThat(got[9]).as("nothing written after the NUL").isEqualTo((byte) 0xff);

        Path other = dir.resolve("other.img");
        Files.write(other, new byte[DISK]);
        var io = new ThreadPoolBlockIo(new RawFileBlockDevice(other, true), "t", 1);
        closing.add(io.device());
        closing.add(io);
        var longSerial = requests(io, "0123456789abcdefghijKLMN", false, true);
        GuestBuffer id2 = g.buffer(40);
        g.fill(id2, 0xff);
        assertThat(run(longSerial, g.request(BlkRequest.T_GET_ID, 0, true, id2))).isEqualTo(S_OK);
        assertThat(new String(g.read(id2), 0, 20)).isEqualTo("0123456789abcdefghij");
        assertThat(g.read(id2)[20]).isEqualTo((byte) 0xff);
    }

    @Test
    void writeZeroesZeroesAndDiscardIsAccepted() throws Exception {
        Path p = rawImage();
        var r = onFile(new RawFileBlockDevice(p, false));
        GuestBuffer seg = g.buffer(16);
        g.memory.write(seg.gpa(), GuestRig.segment(4, 2, 1)); // unmap allowed
        assertThat(run(r, g.request(BlkRequest.T_WRITE_ZEROES, 0, false, seg))).isEqualTo(S_OK);
        byte[] file = Files.readAllBytes(p);
        assertThat(Arrays.copyOfRange(file, 4 * 512, 6 * 512)).containsOnly(0);
        assertThat(file[6 * 512]).isNotZero();
        GuestBuffer dseg = g.buffer(16);
        g.memory.write(dseg.gpa(), GuestRig.segment(10, 4, 0));
        assertThat(run(r, g.request(BlkRequest.T_DISCARD, 0, false, dseg))).isEqualTo(S_OK);
    }

    @Test
    void discardAndWriteZeroesChecks() throws Exception {
        var r = onFile(new RawFileBlockDevice(rawImage(), false));
        // two segments: max_discard_seg is 1
        GuestBuffer two = g.buffer(32);
        g.memory.write(two.gpa(), GuestRig.segment(0, 1, 0));
        g.memory.write(two.gpa() + 16, GuestRig.segment(8, 1, 0));
        assertThat(run(r, g.request(BlkRequest.T_DISCARD, 0, false, two))).isEqualTo(S_UNSUPP);
        // unmap is meaningless for discard; unknown flags for write-zeroes
        assertThat(run(r, g.request(BlkRequest.T_DISCARD, 0, false, seg(0, 1, 1)))).isEqualTo(S_UNSUPP);
        assertThat(run(r, g.request(BlkRequest.T_WRITE_ZEROES, 0, false, seg(0, 1, 2)))).isEqualTo(S_UNSUPP);
        // beyond the disk, and more sectors than max_write_zeroes_sectors
        assertThat(run(r, g.request(BlkRequest.T_WRITE_ZEROES, 0, false, seg(2047, 2, 0)))).isEqualTo(S_IOERR);
        assertThat(run(r, g.request(BlkRequest.T_DISCARD, 0, false, seg(0, -1, 0)))).isEqualTo(S_IOERR);
        // a partial segment
        GuestBuffer part = g.buffer(8);
        assertThat(run(r, g.request(BlkRequest.T_DISCARD, 0, false, part))).isEqualTo(S_UNSUPP);
    }

    private GuestBuffer seg(long sector, int sectors, int flags) {
        GuestBuffer b = g.buffer(16);
        g.memory.write(b.gpa(), GuestRig.segment(sector, sectors, flags));
        return b;
    }

    @Test
    void chainsWithNoStatusByteOrNoWholeHeaderAreBroken() {
        GuestBuffer h = g.header(BlkRequest.T_IN, 0);
        assertThat(BlkRequest.parse(g.memory, 0, g.chain(List.of(h), List.of())))
                .isInstanceOfSatisfying(BlkRequest.Broken.class, b -> assertThat(b.reason()).contains("status"));
        assertThat(BlkRequest.parse(g.memory, 0, g.chain(List.of(), List.of(g.buffer(513)))))
                .isInstanceOf(BlkRequest.Broken.class);
        assertThat(BlkRequest.parse(g.memory, 0, g.chain(List.of(g.buffer(15)), List.of(g.buffer(1)))))
                .isInstanceOfSatisfying(BlkRequest.Broken.class, b -> assertThat(b.reason()).contains("header"));
        assertThat(BlkRequest.parse(g.memory, 0, g.chain(List.of(h), List.of(g.buffer(512), g.buffer(0)))))
                .isInstanceOfSatisfying(BlkRequest.Broken.class, b -> assertThat(b.reason()).contains("empty"));
        // a header split 10 + 6 is whole
        GuestBuffer a = g.buffer(10);
        GuestBuffer b = g.buffer(6);
        byte[] hdr = GuestRig.header16(BlkRequest.T_IN, 77);
        g.memory.write(a.gpa(), hdr, 0, 10);
        g.memory.write(b.gpa(), hdr, 10, 6);
        assertThat(BlkRequest.parse(g.memory, 0, g.chain(List.of(a, b), List.of(g.buffer(1)))))
                .isInstanceOfSatisfying(BlkRequest.Ok.class, ok -> assertThat(ok.request().sector()).isEqualTo(77));
    }

    /** A flush goes to the disk only after the writes in flight when it came have completed. */
    @Test
    void flushWaitsForTheWritesInFlightBeforeIt() throws Exception {
        var dev = new RawFileBlockDevice(rawImage(), false);
        closing.add(dev);
        var io = new ManualBlockIo(dev);
        var r = requests(io, null, false, true);
        submit(r, g.request(BlkRequest.T_OUT, 0, false, g.buffer(512)));
        submit(r, g.request(BlkRequest.T_OUT, 1, false, g.buffer(512)));
        DescriptorChain flush = g.request(BlkRequest.T_FLUSH, 0, false);
        submit(r, flush);
        assertThat(io.kinds()).containsExactly("write", "write");
        io.take("write").complete();
        r.drain((q, c, w) -> used.add(new long[] {c.head(), w}));
        assertThat(io.kinds()).containsExactly("write");
        submit(r, g.request(BlkRequest.T_OUT, 2, false, g.buffer(512))); // after the flush: not waited for
        io.take("write").complete();
        r.drain((q, c, w) -> used.add(new long[] {c.head(), w}));
        assertThat(io.kinds()).containsExactly("write", "flush");
        io.take("flush").complete();
        r.drain((q, c, w) -> used.add(new long[] {c.head(), w}));
        assertThat(used).anyMatch(u -> u[0] == flush.head());
        assertThat(r.inFlight()).isEqualTo(1);
    }

    @Test
    void withTheWriteCacheOffAWriteIsFlushedBeforeItCompletes() throws Exception {
        var dev = new RawFileBlockDevice(rawImage(), false);
        closing.add(dev);
        var io = new ManualBlockIo(dev);
        var r = requests(io, null, false, false);
        DescriptorChain w = g.request(BlkRequest.T_OUT, 0, false, g.buffer(512));
        submit(r, w);
        io.take("write").complete();
        r.drain((q, c, n) -> used.add(new long[] {c.head(), n}));
        assertThat(used).isEmpty();
        io.take("flush").complete();
        r.drain((q, c, n) -> used.add(new long[] {c.head(), n}));
        assertThat(used).hasSize(1);
        assertThat(g.status(w)).isEqualTo(S_OK);
    }

    @Test
    void unsafeFlushesNeverReachTheDiskAndFailuresAreIoErrors() throws Exception {
        var dev = new RawFileBlockDevice(rawImage(), false);
        closing.add(dev);
        var io = new ManualBlockIo(dev);
        var r = requests(io, null, true, true);
        DescriptorChain f = g.request(BlkRequest.T_FLUSH, 0, false);
        submit(r, f);
        r.drain((q, c, n) -> used.add(new long[] {c.head(), n}));
        assertThat(io.kinds()).isEmpty();
        assertThat(g.status(f)).isEqualTo(S_OK);
        DescriptorChain rd = g.request(BlkRequest.T_IN, 0, true, g.buffer(512));
        submit(r, rd);
        io.take("read").done().completed(ManualBlockIo.failure());
        r.drain((q, c, n) -> used.add(new long[] {c.head(), n}));
        assertThat(g.status(rd)).isEqualTo(S_IOERR);
    }

    /** awaitIdle (the device's pause) returns only once the request in flight has been handed back. */
    @Test
    void awaitIdleWaitsForTheRequestInFlight() throws Exception {
        var dev = new RawFileBlockDevice(rawImage(), false);
        closing.add(dev);
        var io = new ManualBlockIo(dev);
        var r = requests(io, null, false, true);
        DescriptorChain rd = g.request(BlkRequest.T_IN, 0, true, g.buffer(512));
        submit(r, rd);
        Thread pause = Thread.ofPlatform().start(() -> {
            try {
                r.awaitIdle((q, c, n) -> used.add(new long[] {c.head(), n}));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (pause.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(pause.isAlive()).isTrue();
        assertThat(used).isEmpty();
        io.take("read").complete();
        pause.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(pause.isAlive()).isFalse();
        assertThat(used).hasSize(1);
        assertThat(r.inFlight()).isZero();
    }

    /** Many requests at once on the thread pool over a real file: every one answered, the data where it belongs. */
    @Test
    void manyRequestsInFlightOnAQcow2ImageWithABackingFile() throws Exception {
        Path base = rawImage();
        byte[] baseBytes = Files.readAllBytes(base);
        Path top = dir.resolve("top.qcow2");
        Qcow2Image.create(top, Qcow2Image.CreateOptions.of(DISK).withBacking(base.toString(), "raw")).close();
        var r = onFile(BlockImages.open(top, "qcow2", false));
        var chains = new ArrayList<DescriptorChain>();
        for (int i = 0; i < 32; i++) {
            GuestBuffer d = g.buffer(4096);
            g.fill(d, i + 1);
            DescriptorChain c = g.request(BlkRequest.T_OUT, i * 16L, false, d);
            chains.add(c);
            submit(r, c);
        }
        r.awaitIdle((q, c, n) -> used.add(new long[] {c.head(), n}));
        assertThat(used).hasSize(32);
        assertThat(chains).allMatch(c -> g.status(c) == S_OK);
        assertThat(run(r, g.request(BlkRequest.T_FLUSH, 0, false))).isEqualTo(S_OK);
        for (int i = 0; i < 32; i++) {
            GuestBuffer in = g.buffer(8192);
            assertThat(run(r, g.request(BlkRequest.T_IN, i * 16L, true, in))).isEqualTo(S_OK);
            byte[] got = g.read(in);
            assertThat(got[0]).isEqualTo((byte) (i + 1));
            assertThat(got[4095]).isEqualTo((byte) (i + 1));
            // the second 4 KiB comes from the backing file
            assertThat(Arrays.copyOfRange(got, 4096, 8192))
                    .isEqualTo(Arrays.copyOfRange(baseBytes, i * 8192 + 4096, i * 8192 + 8192));
        }
    }

    private void submit(BlkRequests r, DescriptorChain c) {
        r.submit(((BlkRequest.Ok) BlkRequest.parse(g.memory, 0, c)).request());
    }
}
