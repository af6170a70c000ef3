package dev.jhv.core.block;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The io_uring engine on real raw files, page cache and O_DIRECT: data, many in flight, what falls back. */
class IoUringBlockIoTest {
    private static final int DISK = 4 << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void needIoUring() {
        assumeTrue(IoUringBlockIo.available(), "io_uring is not available here (kernel, io_uring_disabled)");
    }

    private Path image() throws IOException {
        Path p = dir.resolve("disk.img");
        byte[] b = new byte[DISK];
        new Random(4).nextBytes(b);
        Files.write(p, b);
        return p;
    }

    private static IOException await(BlockingQueue<IOException[]> q) throws InterruptedException {
        return ThreadPoolBlockIoTest.await(q);
    }

    @Test
    void aRawFileGetsTheIoUringEngine() throws IOException {
        try (var dev = new RawFileBlockDevice(image(), false); var io = AsyncBlockIo.open(dev, "t", 2)) {
            assertThat(io.engineName()).isEqualTo("io_uring");
        }
    }

    /** 600 writes of 4 KiB from two buffers each, more than the ring holds at once, then read back and compared. */
    @ParameterizedTest
    @EnumSource(value = CacheMode.class, names = {"WRITEBACK", "NONE"})
    void manyScatterGatherRequestsInFlight(CacheMode mode) throws Exception {
        Path p = image();
        byte[] expect = Files.readAllBytes(p);
        int n = 600;
        try (var dev = new RawFileBlockDevice(p, ImageLock.Access.device(true), mode);
             var io = new IoUringBlockIo(dev, "t", 2); var arena = Arena.ofShared()) {
            var done = new CountDownLatch(n);
            var errors = new ConcurrentLinkedQueue<IOException>();
            for (int i = 0; i < n; i++) {
                MemorySegment a = arena.allocate(2048, 4096);
                MemorySegment b = arena.allocate(2048, 4096);
                a.fill((byte) i);
                b.fill((byte) ~i);
                // O_DIRECT: the 2 KiB halves are not aligned to the file system block, so those go to the pool
                long off = (long) (i % 1000) * 4096;
                if (i < 1000) {
                    Arrays.fill(expect, (int) off, (int) off + 2048, (byte) i);
                    Arrays.fill(expect, (int) off + 2048, (int) off + 4096, (byte) ~i);
                }
                io.write(off, List.of(a, b), e -> {
                    if (e != null) errors.add(e);
                    done.countDown();
                });
            }
            assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
            assertThat(errors).isEmpty();
            var q = new ArrayBlockingQueue<IOException[]>(1);
            io.flush(e -> q.add(new IOException[] {e}));
            assertThat(await(q)).isNull();
            MemorySegment all = arena.allocate(DISK, 4096);
            io.read(0, List.of(all.asSlice(0, DISK / 2), all.asSlice(DISK / 2, DISK / 2)),
                    e -> q.add(new IOException[] {e}));
            assertThat(await(q)).isNull();
            assertThat(all.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(expect);
        }
        assertThat(Files.readAllBytes(p)).isEqualTo(expect);
    }

    @Test
    void whatIoUringDoesNotTakeFallsBackWithTheSameAnswers() throws Exception {
        Path p = image();
        byte[] file = Files.readAllBytes(p);
        try (var dev = new RawFileBlockDevice(p, ImageLock.Access.device(true), CacheMode.NONE);
             var io = new IoUringBlockIo(dev, "t", 1); var arena = Arena.ofShared()) {
            var q = new ArrayBlockingQueue<IOException[]>(4);
            MemorySegment odd = arena.allocate(4096 + 512, 4096).asSlice(512, 1024);
            io.read(512, List.of(odd), e -> q.add(new IOException[] {e}));
            assertThat(await(q)).isNull();
            assertThat(odd.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(file, 512, 1536));
            io.read(DISK - 512, List.of(arena.allocate(4096, 4096)), e -> q.add(new IOException[] {e}));
            assertThat(await(q)).hasMessageContaining("beyond the disk end");
            io.writeZeroes(0, 4096, e -> q.add(new IOException[] {e}));
            assertThat(await(q)).isNull();
        }
        assertThat(Arrays.copyOfRange(Files.readAllBytes(p), 0, 4096)).containsOnly(0);
        try (var ro = new RawFileBlockDevice(p, true); var io = new IoUringBlockIo(ro, "t", 1);
             var arena = Arena.ofShared()) {
            var q = new ArrayBlockingQueue<IOException[]>(4);
            io.write(0, List.of(arena.allocate(4096, 4096)), e -> q.add(new IOException[] {e}));
            assertThat(await(q)).hasMessageContaining("read-only");
            io.close();
            io.flush(e -> q.add(new IOException[] {e}));
            assertThat(await(q)).as("after close").isNotNull();
        }
    }
}
