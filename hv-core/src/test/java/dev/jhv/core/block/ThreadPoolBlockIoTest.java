package dev.jhv.core.block;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/** The thread-pool engine on a real raw file: scatter/gather, many requests at once, errors, completion threads. */
class ThreadPoolBlockIoTest {
    @TempDir
    Path dir;

    private Path image(int size) throws IOException {
        Path p = dir.resolve("disk.img");
        Files.write(p, new byte[size]);
        return p;
    }

    static IOException await(BlockingQueue<IOException[]> q) throws InterruptedException {
        IOException[] r = q.poll(30, TimeUnit.SECONDS);
        assertThat(r).as("completion within the bound").isNotNull();
        return r[0];
    }

    @Test
    void writesAndReadsScatterGatherBuffersInOrder() throws Exception {
        Path p = image(1 << 20);
        try (var dev = new RawFileBlockDevice(p, false); var io = new ThreadPoolBlockIo(dev, "t", 4);
             var arena = Arena.ofShared()) {
            MemorySegment a = arena.allocate(512);
            MemorySegment b = arena.allocate(1024);
            a.fill((byte) 1);
            b.fill((byte) 2);
            var done = new ArrayBlockingQueue<IOException[]>(4);
            io.write(4096, List.of(a, b), e -> done.add(new IOException[] {e}));
            assertThat(await(done)).isNull();
            MemorySegment r = arena.allocate(1536);
            io.read(4096, List.of(r.asSlice(0, 1000), r.asSlice(1000, 536)), e -> done.add(new IOException[] {e}));
            assertThat(await(done)).isNull();
            assertThat(r.get(ValueLayout.JAVA_BYTE, 511)).isEqualTo((byte) 1);
            assertThat(r.get(ValueLayout.JAVA_BYTE, 512)).isEqualTo((byte) 2);
            assertThat(r.get(ValueLayout.JAVA_BYTE, 1535)).isEqualTo((byte) 2);
            io.writeZeroes(4096, 512, e -> done.add(new IOException[] {e}));
            assertThat(await(done)).isNull();
            io.flush(e -> done.add(new IOException[] {e}));
            assertThat(await(done)).isNull();
            byte[] file = Files.readAllBytes(p);
            assertThat(file[4096]).isZero();
            assertThat(file[4096 + 512]).isEqualTo((byte) 2);
        }
    }

    /** Requests are in flight together: a pool of 4 has 4 reads running at once (each blocked in the backend). */
    @Test
    void manyRequestsRunAtOnceOnNamedThreads() throws Exception {
        Path p = image(1 << 16);
        try (var raw = new RawFileBlockDevice(p, false)) {
            var started = new CountDownLatch(4);
            var release = new CountDownLatch(1);
            BlockDevice slow = new ForwardingDevice(raw) {
                @Override
                public void read(long offset, java.nio.ByteBuffer dst) throws IOException {
                    started.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                    super.read(offset, dst);
                }
            };
            Set<String> threads = ConcurrentHashMap.newKeySet();
            var done = new CountDownLatch(4);
            try (var io = new ThreadPoolBlockIo(slow, "virtio-blk-d0", 4); var arena = Arena.ofShared()) {
                for (int i = 0; i < 4; i++) {
                    io.read(i * 512L, List.of(arena.allocate(512)), e -> {
                        threads.add(Thread.currentThread().getName());
                        done.countDown();
                    });
                }
                assertThat(started.await(30, TimeUnit.SECONDS)).as("4 reads in flight at once").isTrue();
                release.countDown();
                assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(threads).hasSize(4).allMatch(n -> n.startsWith("virtio-blk-d0-io-"));
        }
    }

    @Test
    void aFailedRequestCompletesWithItsError() throws Exception {
        Path p = image(4096);
        try (var dev = new RawFileBlockDevice(p, true); var io = new ThreadPoolBlockIo(dev, "t", 1);
             var arena = Arena.ofShared()) {
            var done = new ArrayBlockingQueue<IOException[]>(4);
            io.write(0, List.of(arena.allocate(512)), e -> done.add(new IOException[] {e}));
            assertThat(await(done)).hasMessageContaining("read-only");
            io.read(4096 - 256, List.of(arena.allocate(512)), e -> done.add(new IOException[] {e}));
            assertThat(await(done)).hasMessageContaining("beyond the disk end");
        }
    }

    @Test
    void closeWaitsForRequestsInFlightAndLaterOnesFail() throws Exception {
        Path p = image(1 << 16);
        try (var dev = new RawFileBlockDevice(p, false); var arena = Arena.ofShared()) {
            var io = new ThreadPoolBlockIo(dev, "t", 2);
            List<IOException> results = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < 50; i++) {
                io.read(0, List.of(arena.allocate(4096)), e -> results.add(e));
            }
            io.close();
            assertThat(results).hasSize(50).containsOnlyNulls();
            var done = new ArrayBlockingQueue<IOException[]>(1);
            io.flush(e -> done.add(new IOException[] {e}));
            assertThat(await(done)).hasMessageContaining("closed");
        }
    }

    /** A device that passes every call on (for tests that slow one call down). */
    static class ForwardingDevice implements BlockDevice {
        private final BlockDevice d;

        ForwardingDevice(BlockDevice d) {
            this.d = d;
        }

        @Override public long size() { return d.size(); }
        @Override public boolean isReadOnly() { return d.isReadOnly(); }
        @Override public void read(long o, java.nio.ByteBuffer b) throws IOException { d.read(o, b); }
        @Override public void write(long o, java.nio.ByteBuffer b) throws IOException { d.write(o, b); }
        @Override public void writeZeroes(long o, long l) throws IOException { d.writeZeroes(o, l); }
        @Override public void discard(long o, long l) throws IOException { d.discard(o, l); }
        @Override public void flush() throws IOException { d.flush(); }
        @Override public Allocation allocationStatus(long o, long l) throws IOException {
            return d.allocationStatus(o, l);
        }
        @Override public String describe() { return d.describe(); }
        @Override public void close() throws IOException { d.close(); }
    }
}
