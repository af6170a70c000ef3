package dev.jhv.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jhv.qcow2.tool.JhvImg;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("qemu")
class JhvImgTest {
    @TempDir
    Path tmp;

    record Out(int exit, String out, String err) {}

    Out jhv(String... args) {
        var o = new ByteArrayOutputStream();
        var e = new ByteArrayOutputStream();
        int rc = JhvImg.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Out(rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    String ok(String... args) {
        var r = jhv(args);
        assertThat(r.exit()).as("jhv-img %s: %s", String.join(" ", args), r.err()).isZero();
        return r.out();
    }

    String f(String name) {
        return tmp.resolve(name).toString();
    }

    static TreeSet<String> keys(String json) {
        var m = Pattern.compile("\"([a-z-]+)\":").matcher(json);
        var s = new TreeSet<String>();
        while (m.find()) s.add(m.group(1));
        return s;
    }

    @Test
    void createWithOptionsAndInfoJsonHasQemuKeys() throws Exception {
        Path base = tmp.resolve("base.raw");
        Files.write(base, new byte[1 << 20]);
        ok("create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "-o", "cluster_size=4k,compat=1.1,lazy_refcounts=on,refcount_bits=8",
                f("a.qcow2"), "2M");
        Qemu.assertClean(tmp.resolve("a.qcow2"));
        Qemu.ok("qemu-img", "snapshot", "-c", "snap1", f("a.qcow2"));
        String q = Qemu.ok("qemu-img", "info", "--output=json", "--backing-chain", f("a.qcow2"));
        String j = ok("info", "--output=json", "--backing-chain", f("a.qcow2"));
        assertThat(keys(j)).isEqualTo(keys(q));
        assertThat(j).contains("\"cluster-size\": 4096").contains("\"refcount-bits\": 8").contains("\"lazy-refcounts\": true")
                .contains("\"virtual-size\": 2097152").contains("\"backing-filename-format\": \"raw\"");
        assertThat(ok("info", f("a.qcow2"))).contains("virtual size: 2 MiB (2097152 bytes)").contains("snap1");
    }

    @Test
    void infoJsonIsQemuImgsByteForByteWithControlAndNonAsciiCharactersInNames() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("UTF-8".equals(System.getProperty("sun.jnu.encoding")),
                "file names are not UTF-8 here (sun.jnu.encoding)");
        String backing = "a\u0001b\rc\bd\fe\u007ff\ud83d\ude00g\u20ach\u00e9\\q\"z.raw";
        Files.write(tmp.resolve(backing), new byte[1 << 20]);
        Qemu.ok("qemu-img", "create", "-f", "qcow2", "-b", backing, "-F", "raw", f("odd.qcow2"), "1M");
        assertThat(ok("info", "--output=json", f("odd.qcow2")))
                .isEqualTo(Qemu.ok("qemu-img", "info", "--output=json", f("odd.qcow2")))
                .contains("\"backing-filename\": \"a\\u0001b\\rc\\bd\\fe\\u007Ff\\uD83D\\uDE00g\\u20ACh\\u00E9");
    }

    @Test
    void mapJsonMatchesQemuForWholeClusters() throws Exception {
        Path base = tmp.resolve("b.qcow2");
        ok("create", "-f", "qcow2", base.toString(), "4M");
        try (var img = Qcow2Image.open(base, false)) {
            img.write(65536, ByteBuffer.wrap(new Random(1).ints(65536 * 2, 1, 255).collect(() -> new java.io.ByteArrayOutputStream(),
                    (s, v) -> s.write(v), (x, y) -> { }).toByteArray()));
            img.writeZeroes(3 * 65536, 65536);
        }
        ok("create", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", f("t.qcow2"));
        try (var img = Qcow2Image.open(tmp.resolve("t.qcow2"), false)) {
            byte[] d = new byte[65536];
            java.util.Arrays.fill(d, (byte) 3);
            img.write(2 * 65536, ByteBuffer.wrap(d));
        }
        for (String img : new String[] {"b.qcow2", "t.qcow2"}) {
            String q = Qemu.ok("qemu-img", "map", "--output=json", f(img));
            String j = ok("map", "--output=json", f(img));
            assertThat(j).isEqualTo(q);
            assertThat(ok("map", f(img))).isEqualTo(Qemu.ok("qemu-img", "map", f(img)));
        }
    }

    @Test
    void checkFindsAndRepairsLeaksLikeQemu() throws Exception {
        Path p = tmp.resolve("l.qcow2");
        ok("create", "-f", "qcow2", p.toString(), "1M");
        try (var img = Qcow2Image.open(p, false)) {
            long off = img.refs.allocate(2); // two clusters nobody references
            img.file.write(off, new byte[2 * img.clusterSize()]);
        }
        assertThat(Qemu.run("qemu-img", "check", p.toString()).exit()).isEqualTo(3);
        var r = jhv("check", p.toString());
        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.out()).contains("2 leaked clusters were found on the image.");
        String json = jhv("check", "--output=json", p.toString()).out();
        assertThat(keys(json)).isEqualTo(keys(Qemu.run("qemu-img", "check", "--output=json", p.toString()).out()));
        assertThat(json).contains("\"leaks\": 2");
        ok("check", "-r", "leaks", p.toString());
        Qemu.assertClean(p);
        assertThat(ok("check", p.toString())).contains("No errors were found on the image.");
    }

    @Test
    void snapshotVerbsCrossWithQemu() throws Exception {
        Path p = tmp.resolve("s.qcow2");
        ok("create", "-f", "qcow2", p.toString(), "1M");
        Qemu.ok("qemu-io", "-c", "write -P 0x11 0 64k", p.toString());
        ok("snapshot", "-c", "first", p.toString());
        Qemu.ok("qemu-io", "-c", "write -P 0x22 0 64k", p.toString());
        Qemu.ok("qemu-img", "snapshot", "-c", "second", p.toString());
        String list = ok("snapshot", "-l", p.toString());
        assertThat(list).contains("first").contains("second").startsWith("Snapshot list:\nID        TAG");
        assertThat(Qemu.ok("qemu-img", "snapshot", "-l", p.toString())).contains("first").contains("second");
        ok("snapshot", "-a", "first", p.toString());
        assertThat(Qemu.toRaw(p, tmp)[100]).isEqualTo((byte) 0x11);
        Qemu.ok("qemu-img", "snapshot", "-a", "second", p.toString());
        try (var img = Qcow2Image.open(p, true)) {
            var b = ByteBuffer.allocate(1);
            img.read(100, b);
            assertThat(b.get(0)).isEqualTo((byte) 0x22);
        }
        ok("snapshot", "-d", "first", p.toString());
        Qemu.assertClean(p);
        var bad = jhv("snapshot", "-a", "nope", p.toString());
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).startsWith("jhv-img: ").contains("nope");
        assertThat(bad.err().strip().lines().count()).isEqualTo(1);
    }

    @Test
    void convertRoundTripsAndCompressesReadablyForQemu() throws Exception {
        Path raw = tmp.resolve("in.raw");
        byte[] d = new byte[3 << 20];
        var rnd = new Random(2);
        for (int i = 0; i < d.length; i += 4096) {
            if (rnd.nextInt(3) == 0) continue; // leave holes
            for (int j = 0; j < 4096; j++) d[i + j] = (byte) (rnd.nextInt(4) == 0 ? rnd.nextInt() : j / 64);
        }
        Files.write(raw, d);
        ok("convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=8192", raw.toString(), f("o.qcow2"));
        Qemu.assertClean(tmp.resolve("o.qcow2"));
        Qemu.ok("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw.toString(), f("o.qcow2"));
        var withProgress = jhv("convert", "-p", "-c", "-O", "qcow2", f("o.qcow2"), f("c.qcow2"));
        assertThat(withProgress.exit()).isZero();
        assertThat(withProgress.out()).contains("(100.00/100%)");
        Qemu.assertClean(tmp.resolve("c.qcow2"));
        Qemu.ok("qemu-img", "compare", raw.toString(), f("c.qcow2"));
        assertThat(Files.size(tmp.resolve("c.qcow2"))).isLessThan(Files.size(tmp.resolve("o.qcow2")));
        ok("convert", "-O", "raw", f("c.qcow2"), f("back.raw"));
        assertThat(Files.readAllBytes(tmp.resolve("back.raw"))).isEqualTo(d);
    }

    @Test
    void resizeGrowsAndShrinks() throws Exception {
        Path p = tmp.resolve("r.qcow2");
        ok("create", "-f", "qcow2", "-o", "cluster_size=512", p.toString(), "1M");
        Qemu.ok("qemu-io", "-c", "write -P 7 0 1M", p.toString());
        assertThat(ok("resize", p.toString(), "+3G")).contains("Image resized.");
        assertThat(Qemu.ok("qemu-img", "info", "--output=json", p.toString())).contains("\"virtual-size\": " + ((3L << 30) + (1 << 20)));
        Qemu.assertClean(p);
        assertThat(jhv("resize", p.toString(), "512k").exit()).isEqualTo(1);
        ok("resize", "--shrink", p.toString(), "512k");
        Qemu.assertClean(p);
        byte[] raw = Qemu.toRaw(p, tmp);
        assertThat(raw).hasSize(512 << 10);
        assertThat(raw[1000]).isEqualTo((byte) 7);
    }

    /** Creates a 1 MiB qcow2 image (over {@code backing} unless null) and applies qemu-io's {@code writes}. */
    Path layer(String name, String backing, String... writes) throws Exception {
        if (backing == null) {
            ok("create", "-f", "qcow2", f(name), "1M");
        } else {
            ok("create", "-f", "qcow2", "-b", backing, "-F", "qcow2", f(name));
        }
        var cmd = new ArrayList<String>(List.of("qemu-io"));
        for (String w : writes) {
            cmd.add("-c");
            cmd.add(w);
        }
        cmd.add(f(name));
        Qemu.ok(cmd.toArray(String[]::new));
        return tmp.resolve(name);
    }

    @Test
    void commitAndRebase() throws Exception {
        Path base = layer("base.qcow2", null, "write -P 1 0 1M");
        layer("top.qcow2", "base.qcow2", "write -P 2 4096 100000");
        byte[] view = Qemu.toRaw(tmp.resolve("top.qcow2"), tmp);
        // Rebase safely onto an empty image: the top must keep its view.
        ok("create", "-f", "qcow2", f("other.qcow2"), "1M");
        ok("rebase", "-b", "other.qcow2", "-F", "qcow2", f("top.qcow2"));
        assertThat(Qemu.ok("qemu-img", "info", f("top.qcow2"))).contains("backing file: other.qcow2");
        Qemu.assertClean(tmp.resolve("top.qcow2"));
        assertThat(Qemu.toRaw(tmp.resolve("top.qcow2"), tmp)).isEqualTo(view);
        // Unsafe rebase back and commit into base.
        ok("rebase", "-u", "-b", "base.qcow2", "-F", "qcow2", f("top.qcow2"));
        assertThat(ok("commit", f("top.qcow2"))).contains("Image committed.");
        Qemu.assertClean(base);
        Qemu.assertClean(tmp.resolve("top.qcow2"));
        assertThat(Qemu.toRaw(base, tmp)).isEqualTo(view);
        assertThat(Qemu.ok("qemu-img", "map", "--output=json", f("top.qcow2"))).doesNotContain("\"depth\": 0");
    }

    @Test
    void commitWithBaseWritesEveryLayerAboveItIntoTheBase() throws Exception {
        Path base = layer("base.qcow2", null, "write -P 1 0 1M");
        layer("mid.qcow2", "base.qcow2", "write -P 2 0 300000");
        layer("top.qcow2", "mid.qcow2", "write -P 3 200000 200000", "write -z 700000 65536");
        byte[] view = Qemu.toRaw(tmp.resolve("top.qcow2"), tmp);
        byte[] midBefore = java.nio.file.Files.readAllBytes(tmp.resolve("mid.qcow2"));
        String topMap = Qemu.ok("qemu-img", "map", "--output=json", f("top.qcow2"));

        assertThat(ok("commit", "-b", base.toString(), f("top.qcow2"))).contains("Image committed.");

        Qemu.assertClean(base);
        assertThat(Qemu.toRaw(base, tmp)).as("the base reads as the top did").isEqualTo(view);
        assertThat(java.nio.file.Files.readAllBytes(tmp.resolve("mid.qcow2"))).as("mid is left alone")
                .isEqualTo(midBefore);
        assertThat(Qemu.ok("qemu-img", "map", "--output=json", f("top.qcow2"))).as("-b implies -d")
                .isEqualTo(topMap);
        // a relative name is looked up beside the top, as qemu-img does; a name outside the chain is refused
        assertThat(ok("commit", "-b", "mid.qcow2", f("top.qcow2"))).contains("Image committed.");
        var r = jhv("commit", "-b", "other.qcow2", f("top.qcow2"));
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("Did not find 'other.qcow2' in the backing chain of");
    }

    @Test
    void benchRunsReadsAndWrites() throws Exception {
        Path p = tmp.resolve("b.qcow2");
        ok("create", "-f", "qcow2", p.toString(), "16M");
        String w = ok("bench", "-w", "-c", "2000", "-d", "8", "-S", "1052672", "-t", "none", p.toString());
        assertThat(w).contains("Sending 2000 write requests, 4096 bytes each, 8 in parallel").contains("Run completed in");
        assertThat(ok("bench", "-c", "500", "-s", "64k", p.toString())).contains("65536 bytes each");
        Qemu.assertClean(p);
    }

    @Test
    void errorsAreOneLineAndNonZeroInASubprocess() throws Exception {
        var r = Qemu.jhvImg("info", f("missing.qcow2"));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).startsWith("jhv-img: ").contains("missing.qcow2");
        assertThat(r.out().strip().lines().count()).isEqualTo(1);
        assertThat(jhv("create", "-f", "qcow2", f("x.qcow2"), "12Q").exit()).isEqualTo(1);
        assertThat(jhv("frobnicate").err()).contains("Command not found");
    }

    /** A sparse raw file: its holes read as zero in map, and convert leaves them out, as qemu-img does. */
    @Test
    void holesOfRawFilesAreZeroInMapAndConvert() throws Exception {
        Path raw = tmp.resolve("sparse.raw");
        try (var ch = java.nio.channels.FileChannel.open(raw, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            byte[] d = new byte[65536];
            new Random(7).nextBytes(d);
            ch.write(ByteBuffer.wrap(d), 1 << 20);
            ch.truncate(4 << 20);
            ch.write(ByteBuffer.wrap(new byte[1]), (4 << 20) - 1);   // the size; the last page is data
        }
        for (String fmt : new String[] {"--output=json", "--output=human"}) {
            assertThat(ok("map", fmt, "-f", "raw", f("sparse.raw")))
                    .isEqualTo(Qemu.ok("qemu-img", "map", fmt, "-f", "raw", f("sparse.raw")));
        }
        Qemu.ok("qemu-img", "convert", "-f", "raw", "-O", "qcow2", f("sparse.raw"), f("by-qemu.qcow2"));
        ok("convert", "-f", "raw", "-O", "qcow2", f("sparse.raw"), f("by-jhv.qcow2"));
        Qemu.ok("qemu-img", "compare", f("sparse.raw"), f("by-jhv.qcow2"));
        assertThat(Qemu.ok("qemu-img", "map", "--output=json", f("by-jhv.qcow2")))
                .as("only the clusters with data are allocated")
                .isEqualTo(Qemu.ok("qemu-img", "map", "--output=json", f("by-qemu.qcow2")));
        ok("convert", "-f", "raw", "-O", "raw", f("sparse.raw"), f("copy.raw"));
        Qemu.ok("qemu-img", "compare", "-f", "raw", "-F", "raw", f("sparse.raw"), f("copy.raw"));
        assertThat(ok("map", "--output=json", "-f", "raw", f("copy.raw")))
                .as("the copy keeps the holes").isEqualTo(ok("map", "--output=json", "-f", "raw", f("sparse.raw")));
    }

    /** convert -B: the target is an overlay of the given backing file holding only the source's top layer. */
    @Test
    void convertOntoABackingFileWritesOnlyTheTopLayerAsQemuDoes() throws Exception {
        Qemu.ok("qemu-img", "create", "-q", "-f", "qcow2", f("base.qcow2"), "4M");
        Qemu.ok("qemu-io", "-c", "write -P 1 0 1M", f("base.qcow2"));
        Qemu.ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", f("top.qcow2"));
        // data, a zero cluster over the base's data (must stay zero), data past the base's
        Qemu.ok("qemu-io", "-c", "write -P 2 128k 64k", "-c", "write -z 512k 64k", "-c", "write -P 3 3M 64k",
                f("top.qcow2"));
        Qemu.ok("qemu-img", "convert", "-B", "base.qcow2", "-F", "qcow2", "-O", "qcow2", f("top.qcow2"),
                f("by-qemu.qcow2"));
        ok("convert", "-B", "base.qcow2", "-O", "qcow2", f("top.qcow2"), f("by-jhv.qcow2"));
        Qemu.ok("qemu-img", "compare", f("top.qcow2"), f("by-jhv.qcow2"));
        Qemu.assertClean(tmp.resolve("by-jhv.qcow2"));
        assertThat(Qemu.ok("qemu-img", "info", f("by-jhv.qcow2")))
                .contains("backing file: base.qcow2").contains("backing file format: qcow2");
        var hostOffsets = Pattern.compile(", \"offset\": \\d+");
        assertThat(hostOffsets.matcher(Qemu.ok("qemu-img", "map", "--output=json", f("by-jhv.qcow2"))).replaceAll(""))
                .isEqualTo(hostOffsets.matcher(Qemu.ok("qemu-img", "map", "--output=json", f("by-qemu.qcow2")))
                        .replaceAll(""));
        var refused = jhv("convert", "-B", "base.qcow2", "-O", "raw", f("top.qcow2"), f("x.raw"));
        assertThat(refused.exit()).isOne();
        assertThat(refused.err()).isEqualTo("jhv-img: Backing file not supported for file format 'raw'\n");
    }
}
