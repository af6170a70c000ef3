package dev.jhv.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Tag("qemu")
class Qcow2InteropTest {
    @TempDir
    Path tmp;

    static byte[] readAll(Qcow2Image img) throws Exception {
        var b = ByteBuffer.allocate((int) img.size());
        img.read(0, b);
        return b.array();
    }

    @ParameterizedTest
    @CsvSource({"512,16,3", "4096,1,3", "65536,16,3", "65536,16,2", "2097152,64,3", "1024,64,3", "8192,8,3", "512,2,3", "4096,32,3", "16384,4,3"})
    void jhvWritesQemuReadsCleanImage(int cs, int bits, int version) throws Exception {
        long size = 3L << 20;
        Path p = tmp.resolve("a.qcow2");
        byte[] model = new byte[(int) size];
        var rnd = new Random(cs * 31L + bits);
        try (var img = Qcow2Image.create(p, Qcow2Image.CreateOptions.of(size).withClusterSize(cs)
                .withRefcountBits(bits).withVersion(version))) {
            for (int i = 0; i < 200; i++) {
                int len = 1 + rnd.nextInt(20000);
                int off = rnd.nextInt((int) size - len);
                int op = rnd.nextInt(10);
                if (op == 0) {
                    img.writeZeroes(off, len);
                    java.util.Arrays.fill(model, off, off + len, (byte) 0);
                } else if (op == 1) {
                    img.discard(off, len);
                    // Discard only drops whole clusters; without backing they read as zero.
                    long a = (off + cs - 1) / cs * cs, e = (long) (off + len) / cs * cs;
                    if (off + len == size) e = size;
                    if (a < e) java.util.Arrays.fill(model, (int) a, (int) e, (byte) 0);
                } else {
                    byte[] d = new byte[len];
                    rnd.nextBytes(d);
                    img.write(off, ByteBuffer.wrap(d));
                    System.arraycopy(d, 0, model, off, len);
                }
            }
            assertThat(readAll(img)).isEqualTo(model);
        }
        Qemu.assertClean(p);
        assertThat(Qemu.toRaw(p, tmp)).isEqualTo(model);
        try (var img = Qcow2Image.open(p, true)) {
            assertThat(readAll(img)).isEqualTo(model);
        }
    }

    @ParameterizedTest
    @CsvSource({"extended_l2=on,extended L2", "compression_type=zstd,zstd", "data_file=ext.raw,external data file"})
    void unsupportedQemuFeaturesAreRefusedWithAClearMessage(String option, String message) throws Exception {
        Path p = tmp.resolve("f.qcow2");
        var r = Qemu.run("qemu-img", "create", "-f", "qcow2", "-o", option, p.toString(), "1M");
        org.junit.jupiter.api.Assumptions.assumeTrue(r.exit() == 0, "qemu-img lacks " + option);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Qcow2Image.open(p, true))
                .isInstanceOf(Qcow2Exception.class).hasMessageContaining(p.toString()).hasMessageContaining(message);
    }

    @Test
    void dirtyLazyRefcountImageFromAKilledQemuIsRepairedOnOpen() throws Exception {
        Path p = tmp.resolve("lazy.qcow2");
        Qemu.ok("qemu-img", "create", "-f", "qcow2", "-o", "lazy_refcounts=on", p.toString(), "4M");
        Qemu.run("qemu-io", "-c", "write -P 3 0 1M", "-c", "sigraise 9", p.toString());
        assertThat(Qemu.run("qemu-img", "check", p.toString()).exit()).isEqualTo(2);
        try (var img = Qcow2Image.open(p, true)) {
            assertThat(img.isDirty()).isTrue();
        }
        try (var img = Qcow2Image.open(p, false)) {
            var b = ByteBuffer.allocate(1 << 20);
            img.read(0, b);
            for (byte x : b.array()) assertThat(x).isEqualTo((byte) 3);
        }
        Qemu.assertClean(p);
    }

    @Test
    void headerRewriteAfterRefcountTableGrowthKeepsTheImageValid() throws Exception {
        Files.write(tmp.resolve("b1.raw"), new byte[4 << 20]);
        Files.write(tmp.resolve("b2.raw"), new byte[4 << 20]);
        Path p = tmp.resolve("h.qcow2");
        byte[] d = new byte[4 << 20];
        new Random(8).nextBytes(d);
        try (var img = Qcow2Image.create(p, Qcow2Image.CreateOptions.of(4 << 20).withClusterSize(512).withRefcountBits(64).withBacking("b1.raw", "raw"))) {
            img.write(0, ByteBuffer.wrap(d)); // 8192 clusters: the refcount table has to move
            img.setBackingFile("b2.raw", "raw");
        }
        Qemu.assertClean(p);
        assertThat(Qemu.ok("qemu-img", "info", p.toString())).contains("backing file: b2.raw");
        assertThat(Qemu.toRaw(p, tmp)).isEqualTo(d);
    }

    @Test
    void qemuWritesJhvReads() throws Exception {
        Path p = tmp.resolve("q.qcow2");
        Qemu.ok("qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=4096", p.toString(), "2M");
        Qemu.ok("qemu-io", "-c", "write -P 0xab 1000 70000", "-c", "write -z 300000 100000",
                "-c", "write -P 0x11 1500000 5000", "-c", "discard 1499136 4096", p.toString());
        byte[] raw = Qemu.toRaw(p, tmp);
        try (var img = Qcow2Image.open(p, true)) {
            assertThat(readAll(img)).isEqualTo(raw);
        }
    }

    @Test
    void compressedImageFromQemuReadsBack() throws Exception {
        Path raw = tmp.resolve("src.raw");
        byte[] data = new byte[1 << 20];
        for (int i = 0; i < data.length; i++) data[i] = (byte) ((i / 100) % 7 == 0 ? i : i % 13);
        Files.write(raw, data);
        Path c = tmp.resolve("c.qcow2");
        Qemu.ok("qemu-img", "convert", "-c", "-O", "qcow2", raw.toString(), c.toString());
        try (var img = Qcow2Image.open(c, true)) {
            assertThat(readAll(img)).isEqualTo(data);
        }
        // A partial write over a compressed cluster copies it out.
        try (var img = Qcow2Image.open(c, false)) {
            img.write(70000, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            data[70000] = 1;
            data[70001] = 2;
            data[70002] = 3;
            assertThat(readAll(img)).isEqualTo(data);
        }
        Qemu.assertClean(c);
        assertThat(Qemu.toRaw(c, tmp)).isEqualTo(data);
    }

    @Test
    void jhvCompressedClustersReadByQemu() throws Exception {
        Path p = tmp.resolve("jc.qcow2");
        byte[] model = new byte[1 << 20];
        try (var img = Qcow2Image.create(p, Qcow2Image.CreateOptions.of(model.length))) {
            var rnd = new Random(5);
            for (int c = 0; c < model.length / 65536; c++) {
                byte[] cl = new byte[65536];
                for (int i = 0; i < cl.length; i++) cl[i] = (byte) (c % 3 == 0 ? rnd.nextInt() : (i * 7 / 1000 + c));
                System.arraycopy(cl, 0, model, c * 65536, 65536);
                img.writeCompressed(c * 65536L, cl);
            }
            assertThat(readAll(img)).isEqualTo(model);
        }
        Qemu.assertClean(p);
        assertThat(Qemu.toRaw(p, tmp)).isEqualTo(model);
        String check = Qemu.ok("qemu-img", "check", p.toString());
        assertThat(check).contains("compressed clusters").doesNotContain(" 0.00% compressed");
    }

    @Test
    void backingChainOfDepthThreeMatchesQemu() throws Exception {
        Path base = tmp.resolve("base.raw");
        byte[] b = new byte[2 << 20];
        new Random(1).nextBytes(b);
        Files.write(base, b);
        Path mid = tmp.resolve("mid.qcow2");
        Qemu.ok("qemu-img", "create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "-o", "cluster_size=16384", mid.toString());
        Qemu.ok("qemu-io", "-c", "write -P 0x55 100000 300000", mid.toString());
        Path top = tmp.resolve("top.qcow2");
        try (var img = Qcow2Image.create(top, Qcow2Image.CreateOptions.of(3 << 20).withClusterSize(4096)
                .withBacking("mid.qcow2", "qcow2"))) {
            img.write(5000, ByteBuffer.wrap(new byte[] {9, 9, 9}));
            img.write(2 * 1024 * 1024 + 17, ByteBuffer.wrap(new byte[] {7}));
            img.writeZeroes(200000, 8192);
            assertThat(img.allocationStatus(4096, 4096).kind()).isEqualTo(dev.jhv.core.block.BlockDevice.Allocation.Kind.DATA);
            var st = img.allocationStatus(8192, 4096);
            assertThat(st.kind()).isEqualTo(dev.jhv.core.block.BlockDevice.Allocation.Kind.BACKING);
            assertThat(st.depth()).isEqualTo(2);
            assertThat(img.allocationStatus(120000, 4096).depth()).isEqualTo(1);
            assertThat(img.allocationStatus(200704, 4096).kind()).isEqualTo(dev.jhv.core.block.BlockDevice.Allocation.Kind.ZERO);
        }
        Qemu.assertClean(top);
        byte[] q = Qemu.toRaw(top, tmp);
        try (var img = Qcow2Image.open(top, true)) {
            assertThat(readAll(img)).isEqualTo(q);
        }
        assertThat(q[5000]).isEqualTo((byte) 9);
        assertThat(q[100001]).isEqualTo((byte) 0x55);
        assertThat(q[3000]).isEqualTo(b[3000]);
        assertThat(q[2 * 1024 * 1024 + 17]).isEqualTo((byte) 7);
        assertThat(q[2 * 1024 * 1024 + 18]).isEqualTo((byte) 0);
    }
}
