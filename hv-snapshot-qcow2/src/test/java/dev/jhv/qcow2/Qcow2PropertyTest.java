package dev.jhv.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Random writes, zero-writes and discards against an in-memory model, reopened along the way. */
class Qcow2PropertyTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"512,3,false", "4096,3,true", "65536,3,true", "65536,2,true", "1024,2,false", "2097152,3,true", "8192,3,false"})
    void matchesModel(int cs, int version, boolean withBacking) throws Exception {
        int size = 3 << 20;
        var rnd = new Random(cs + version * 7 + (withBacking ? 1 : 0));
        byte[] base = new byte[size];
        Path p = tmp.resolve("m.qcow2");
        var opts = Qcow2Image.CreateOptions.of(size).withClusterSize(cs).withVersion(version);
        if (withBacking) {
            rnd.nextBytes(base);
            Arrays.fill(base, 0, 100_000, (byte) 0);
            Files.write(tmp.resolve("base.raw"), Arrays.copyOf(base, size - 100_000));
            Arrays.fill(base, size - 100_000, size, (byte) 0);
            opts = opts.withBacking("base.raw", "raw");
        }
        byte[] model = base.clone();
        Qcow2Image.create(p, opts).close();
        for (int round = 0; round < 4; round++) {
            try (var img = Qcow2Image.open(p, false)) {
                assertThat(img.size()).isEqualTo(size);
                for (int i = 0; i < 120; i++) {
                    int len = 1 + rnd.nextInt(rnd.nextBoolean() ? 3 * cs : 5000);
                    len = Math.min(len, size);
                    int off = rnd.nextInt(size - len + 1);
                    switch (rnd.nextInt(8)) {
                        case 0 -> {
                            img.writeZeroes(off, len);
                            Arrays.fill(model, off, off + len, (byte) 0);
                        }
                        case 1 -> {
                            img.discard(off, len);
                            long a = ((long) off + cs - 1) / cs * cs;
                            long e = (off + len == size) ? size : (long) (off + len) / cs * cs;
                            for (long x = a; x < e; x++) {
                                model[(int) x] = (version == 2 && withBacking) ? base[(int) x] : 0;
                            }
                        }
                        default -> {
                            byte[] d = new byte[len];
                            rnd.nextBytes(d);
                            img.write(off, ByteBuffer.wrap(d));
                            System.arraycopy(d, 0, model, off, len);
                        }
                    }
                    if (i % 40 == 0) {
                        int roff = rnd.nextInt(size - 10000);
                        var b = ByteBuffer.allocate(10000);
                        img.read(roff, b);
                        assertThat(b.array()).isEqualTo(Arrays.copyOfRange(model, roff, roff + 10000));
                    }
                }
            }
            try (var img = Qcow2Image.open(p, true)) {
                assertThat(Qcow2InteropTest.readAll(img)).isEqualTo(model);
                assertThat(img.check(ImageChecker.Repair.NONE).clean()).isTrue();
            }
        }
    }

    @Test
    void concurrentWritersOnDisjointRangesAndReaders() throws Exception {
        Path p = tmp.resolve("c.qcow2");
        int size = 16 << 20;
        int threads = 6;
        int slice = size / threads;
        byte[] model = new byte[size];
        try (var img = Qcow2Image.create(p, Qcow2Image.CreateOptions.of(size).withClusterSize(4096));
                var pool = Executors.newFixedThreadPool(threads)) {
            var futures = new ArrayList<Future<?>>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                futures.add(pool.submit((Callable<Void>) () -> {
                    var rnd = new Random(id);
                    for (int i = 0; i < 400; i++) {
                        int len = 1 + rnd.nextInt(9000);
                        int off = id * slice + rnd.nextInt(slice - len);
                        byte[] d = new byte[len];
                        rnd.nextBytes(d);
                        img.write(off, ByteBuffer.wrap(d));
                        synchronized (model) {
                            System.arraycopy(d, 0, model, off, len);
                        }
                        var b = ByteBuffer.allocate(len);
                        img.read(off, b);
                        assertThat(b.array()).isEqualTo(d);
                    }
                    return null;
                }));
            }
            for (var f : futures) f.get();
            assertThat(Qcow2InteropTest.readAll(img)).isEqualTo(model);
            assertThat(img.check(ImageChecker.Repair.NONE).clean()).isTrue();
        }
    }

    @Test
    void refcountTableGrowsWithSmallClustersAndWideRefcounts() throws Exception {
        Path p = tmp.resolve("g.qcow2");
        int size = 8 << 20;
        byte[] model = new byte[size];
        new Random(3).nextBytes(model);
        try (var img = Qcow2Image.create(p, Qcow2Image.CreateOptions.of(size).withClusterSize(512).withRefcountBits(64))) {
            img.write(0, ByteBuffer.wrap(model));
            assertThat(img.check(ImageChecker.Repair.NONE).clean()).isTrue();
        }
        try (var img = Qcow2Image.open(p, false)) {
            // Freed clusters are reused: discarding and rewriting does not grow the file.
            long len = img.fileLength();
            img.discard(0, 1 << 20);
            img.write(0, ByteBuffer.wrap(model, 0, 1 << 20));
            assertThat(img.fileLength()).isEqualTo(len);
            assertThat(Qcow2InteropTest.readAll(img)).isEqualTo(model);
        }
    }

    @Test
    void lazyRefcountsSetDirtyWhileOpenAndClearOnClose() throws Exception {
        Path p = tmp.resolve("l.qcow2");
        try (var img = Qcow2Image.create(p, Qcow2Image.CreateOptions.of(1 << 20).withLazyRefcounts(true))) {
            img.write(0, ByteBuffer.wrap(new byte[] {1}));
            assertThat(img.isDirty()).isTrue();
            // a second opener must share write (as qemu-img -U) while the image is open for writing
            try (var ro = Qcow2Image.open(p, dev.jhv.core.block.ImageLock.Access.reader().forceShared())) {
                assertThat(ro.isDirty()).isTrue();
            }
        }
        try (var img = Qcow2Image.open(p, true)) {
            assertThat(img.isDirty()).isFalse();
            assertThat(img.lazyRefcounts()).isTrue();
        }
    }
}
