package dev.jhv.core.block;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/** cache= in the raw backend: O_DIRECT really set on the descriptor, unaligned requests bounced, DSYNC, unsafe. */
class RawFileCacheModeTest {
    private static final int O_DIRECT = OpenFileFlags.O_DIRECT;
    private static final int O_DSYNC = OpenFileFlags.O_DSYNC;

    @TempDir
    Path dir;

    private Path image(int size) throws IOException {
        Path p = dir.resolve("disk.img");
        byte[] b = new byte[size];
        new Random(1).nextBytes(b);
        Files.write(p, b);
        return p;
    }

    private static List<Integer> flagsOf(Path file) throws IOException {
        return OpenFileFlags.of("self", file);
    }

    @Test
    void cacheNoneOpensWithODirectAndWritebackDoesNot() throws IOException {
        Path p = image(1 << 20);
        try (var dev = new RawFileBlockDevice(p, ImageLock.Access.device(true), CacheMode.NONE)) {
            assertThat(flagsOf(p)).anyMatch(f -> (f & O_DIRECT) != 0);
            assertThat(dev.directAlignment()).isGreaterThanOrEqualTo(512);
            assertThat(dev.describe()).contains("cache=none");
        }
        try (var dev = new RawFileBlockDevice(p, ImageLock.Access.device(true), CacheMode.WRITEBACK)) {
            assertThat(flagsOf(p)).isNotEmpty().noneMatch(f -> (f & O_DIRECT) != 0);
        }
    }

    @Test
    void writethroughOpensWithODsync() throws IOException {
        Path p = image(1 << 16);
        try (var dev = new RawFileBlockDevice(p, ImageLock.Access.device(true), CacheMode.WRITETHROUGH)) {
            assertThat(flagsOf(p)).anyMatch(f -> (f & O_DSYNC) != 0);
        }
    }

    /**
     * Sector-aligned but not block-aligned requests, from heap buffers and from misaligned native memory, read and
     * write the same bytes as the page-cache path; the file keeps its size even with an unaligned end.
     */
    @ParameterizedTest
    @EnumSource(value = CacheMode.class, names = {"NONE", "DIRECTSYNC"})
    void unalignedRequestsGoThroughABounceBuffer(CacheMode mode) throws IOException {
        int size = (1 << 20) + 1536; // not a multiple of the file system block
        Path p = image(size);
        byte[] expect = Files.readAllBytes(p);
        try (var dev = new RawFileBlockDevice(p, ImageLock.Access.device(true), mode); var arena = Arena.ofConfined()) {
            // reads at odd sectors into heap and misaligned direct memory
            var heap = ByteBuffer.allocate(1536);
            dev.read(512, heap);
            assertThat(heap.array()).isEqualTo(java.util.Arrays.copyOfRange(expect, 512, 2048));
            var seg = arena.allocate(8192 + 512, 4096).asSlice(512, 8192);
            var direct = seg.asByteBuffer();
            dev.read(4096, direct);
            assertThat(seg.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                    .isEqualTo(java.util.Arrays.copyOfRange(expect, 4096, 4096 + 8192));
            // writes: a sector inside a block, an aligned range from misaligned memory, the file's last sector
            byte[] a = filled(512, 7);
            dev.write(1024, ByteBuffer.wrap(a));
            System.arraycopy(a, 0, expect, 1024, 512);
            seg.fill((byte) 9);
            dev.write(8192, seg.asByteBuffer());
            java.util.Arrays.fill(expect, 8192, 8192 + 8192, (byte) 9);
            byte[] tail = filled(512, 5);
            dev.write(size - 512, ByteBuffer.wrap(tail));
            System.arraycopy(tail, 0, expect, size - 512, 512);
            dev.writeZeroes(2560, 1024);
            java.util.Arrays.fill(expect, 2560, 3584, (byte) 0);
            dev.flush();
            var all = ByteBuffer.allocate(size);
            dev.read(0, all);
            assertThat(all.array()).isEqualTo(expect);
        }
        assertThat(Files.size(p)).isEqualTo(size);
        assertThat(Files.readAllBytes(p)).isEqualTo(expect);
    }

    @Test
    void unsafeFlushDoesNotFailAndWritesLand() throws IOException {
        Path p = image(4096);
        try (var dev = new RawFileBlockDevice(p, ImageLock.Access.device(true), CacheMode.UNSAFE)) {
            dev.write(0, ByteBuffer.wrap(filled(512, 3)));
            dev.flush();
        }
        assertThat(Files.readAllBytes(p)[511]).isEqualTo((byte) 3);
    }

    private static byte[] filled(int n, int v) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }
}
