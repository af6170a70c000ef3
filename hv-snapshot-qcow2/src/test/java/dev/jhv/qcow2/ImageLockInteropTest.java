package dev.jhv.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jhv.core.block.ImageLock.Access;
import dev.jhv.qcow2.tool.JhvImg;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jhv-img and jhv's image drivers against QEMU 7.2 holding the same image, and the other way round. */
@Tag("qemu")
class ImageLockInteropTest {
    @TempDir
    Path tmp;

    record Out(int exit, String out, String err) { }

    static Out jhvImg(String... args) {
        var o = new ByteArrayOutputStream();
        var e = new ByteArrayOutputStream();
        int rc = JhvImg.run(args, new PrintStream(o, true, StandardCharsets.UTF_8),
                new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Out(rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    /** qemu-img's complaint with its program name cut off, to compare with jhv-img's. */
    static String qemuImgError(String... args) throws Exception {
        var cmd = new java.util.ArrayList<>(List.of("qemu-img"));
        cmd.addAll(List.of(args));
        var r = Qemu.run(cmd.toArray(String[]::new));
        assertThat(r.exit()).as("qemu-img %s: %s", args, r.out()).isNotZero();
        assertThat(r.out()).startsWith("qemu-img: ");
        return r.out().substring("qemu-img: ".length());
    }

    static String jhvImgError(String... args) {
        var r = jhvImg(args);
        assertThat(r.exit()).as("jhv-img %s: %s", String.join(" ", args), r.out()).isEqualTo(1);
        assertThat(r.err()).startsWith("jhv-img: ");
        return r.err().substring("jhv-img: ".length());
    }

    /** A qemu-system holding {@code drive} open; closed by quitting through its monitor. */
    static final class RunningQemu implements AutoCloseable {
        private final Process p;

        RunningQemu(String drive) throws IOException {
            p = new ProcessBuilder("qemu-system-x86_64", "-machine", "none", "-display", "none", "-serial", "none",
                    "-monitor", "stdio", "-drive", drive).redirectErrorStream(true).start();
            // its monitor prompts once the drives are open
            var in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            var seen = new StringBuilder();
            var prompt = CompletableFuture.supplyAsync(() -> {
                try {
                    int c;
                    while ((c = in.read()) >= 0) {
                        seen.append((char) c);
                        if (seen.indexOf("(qemu)") >= 0) return true;
                    }
                    return false;
                } catch (IOException e) {
                    return false;
                }
            });
            boolean up;
            try {
                up = prompt.get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                up = false;
            }
            if (!up) {
                p.destroyForcibly();
                throw new AssertionError("qemu-system did not come up: " + seen);
            }
        }

        @Override
        public void close() throws Exception {
            try {
                p.getOutputStream().write("quit\n".getBytes(StandardCharsets.UTF_8));
                p.getOutputStream().flush();
                if (!p.waitFor(30, TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (IOException e) {
                p.destroyForcibly();
            }
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private Path qcow2(String name) throws Exception {
        Path p = tmp.resolve(name);
        Qemu.ok("qemu-img", "create", "-f", "qcow2", p.toString(), "16M");
        return p;
    }

    @Test
    void aRunningQemuKeepsJhvImgWritersOutAndForceShareLetsReadersIn() throws Exception {
        String img = qcow2("disk.qcow2").toString();
        Qemu.ok("qemu-img", "snapshot", "-c", "before", img);
        try (var q = new RunningQemu("file=" + img + ",if=none,id=d0")) {
            String refused = jhvImgError("snapshot", "-c", "s1", img);
            assertThat(refused).isEqualTo("Could not open '" + img + "': Failed to get \"write\" lock\n"
                    + "Is another process using the image [" + img + "]?\n");
            assertThat(refused).isEqualTo(qemuImgError("snapshot", "-c", "s1", img));
            assertThat(jhvImgError("snapshot", "-d", "before", img)).isEqualTo(refused);
            assertThat(jhvImgError("resize", img, "+1M")).isEqualTo(qemuImgError("resize", img, "+1M"));
            assertThat(jhvImgError("check", "-r", "leaks", img)).isEqualTo(refused);
            // as qemu-img: even info wants nobody to write underneath it, unless told -U
            assertThat(jhvImgError("info", img)).isEqualTo(qemuImgError("info", img))
                    .startsWith("Could not open '" + img + "': Failed to get shared \"write\" lock\n");
            assertThat(jhvImgError("map", img)).isEqualTo(qemuImgError("map", img));
            var info = jhvImg("info", "-U", img);
            assertThat(info.exit()).as(info.err()).isZero();
            assertThat(info.out()).contains("file format: qcow2").contains("before");
            assertThat(jhvImg("snapshot", "-l", "-U", img).out()).contains("before");
            assertThat(jhvImg("check", "--force-share", img).exit()).isZero();
            assertThat(jhvImg("map", "-U", img).exit()).isZero();
            assertThat(jhvImgError("check", "-r", "leaks", "-U", img))
                    .isEqualTo(qemuImgError("check", "-r", "leaks", "-U", img))
                    .isEqualTo("Could not open '" + img + "': force-share=on can only be used with read-only images\n");
            assertThat(jhvImgError("snapshot", "-c", "s1", "-U", img))
                    .isEqualTo(qemuImgError("snapshot", "-c", "s1", "-U", img));
            // create would destroy it: refused before anything is truncated
            assertThat(jhvImgError("create", "-q", "-f", "qcow2", img, "1M"))
                    .isEqualTo(qemuImgError("create", "-q", "-f", "qcow2", img, "1M"));
            assertThat(jhvImgError("create", "-q", "-f", "raw", img, "1M")).isEqualTo(qemuImgError("create", "-q", "-f", "raw", img, "1M"));
        }
        assertThat(jhvImg("snapshot", "-c", "after", img).exit()).isZero();
        assertThat(Qemu.ok("qemu-img", "snapshot", "-l", img)).contains("before").contains("after");
        Qemu.assertClean(Path.of(img));
    }

    @Test
    void aReadOnlyQemuLetsReadersInButNoWriter() throws Exception {
        String img = qcow2("ro.qcow2").toString();
        try (var q = new RunningQemu("file=" + img + ",if=none,id=d0,readonly=on")) {
            assertThat(jhvImg("info", img).exit()).isZero();
            assertThat(jhvImg("check", img).exit()).isZero();
            try (var ro = Qcow2Image.open(Path.of(img), true)) {
                assertThat(ro.size()).isEqualTo(16 << 20);
            }
            assertThat(jhvImgError("snapshot", "-c", "s", img)).isEqualTo(qemuImgError("snapshot", "-c", "s", img));
        }
    }

    @Test
    void anImageJhvHasOpenKeepsQemuOut() throws Exception {
        Path p = qcow2("jhv.qcow2");
        String img = p.toString();
        try (var open = Qcow2Image.open(p, false)) {
            open.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            String qemu = qemuImgError("snapshot", "-c", "s1", img);
            assertThat(qemu).isEqualTo("Could not open '" + img + "': Failed to get \"write\" lock\n"
                    + "Is another process using the image [" + img + "]?\n");
            assertThat(qemuImgError("info", img)).startsWith("Could not open '" + img + "': Failed to get shared \"write\" lock");
            var r = Qemu.run("qemu-system-x86_64", "-machine", "none", "-display", "none", "-serial", "none",
                    "-monitor", "none", "-drive", "file=" + img + ",if=none,id=d0");
            assertThat(r.exit()).isNotZero();
            assertThat(r.out()).isEqualTo("qemu-system-x86_64: -drive file=" + img + ",if=none,id=d0: Failed to get \"write\" lock\n"
                    + "Is another process using the image [" + img + "]?\n");
            assertThat(Qemu.ok("qemu-img", "info", "-U", img)).contains("file format: qcow2");
        }
        Qemu.ok("qemu-img", "snapshot", "-c", "s1", img);
        Qemu.assertClean(p);
    }

    @Test
    void backingFilesAreReadLockedAgainstWriters() throws Exception {
        Path base = qcow2("base.qcow2");
        Path top = tmp.resolve("top.qcow2");
        Qemu.ok("qemu-img", "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top.toString());
        try (var open = Qcow2Image.open(top, false)) {
            // a writer of the base is refused; a reader is fine (the base is only read through the top)
            assertThat(qemuImgError("snapshot", "-c", "s", base.toString())).contains("Failed to get \"write\" lock");
            assertThat(Qemu.run("qemu-img", "check", base.toString()).exit()).isZero();
        }
        try (var q = new RunningQemu("file=" + base + ",if=none,id=d0")) {
            // QEMU's words: the top is named in front, the backing file in the brackets
            String jhv = jhvImgError("check", top.toString());
            assertThat(jhv).isEqualTo(qemuImgError("check", top.toString()))
                    .isEqualTo("Could not open '" + top + "': Could not open backing file: Failed to get shared \"write\" lock\n"
                            + "Is another process using the image [" + base + "]?\n");
            // info reads the top's header only and does not lock its backing file (as qemu-img info)
            assertThat(jhvImg("info", top.toString()).exit()).isZero();
            assertThat(jhvImgError("info", "--backing-chain", top.toString()))
                    .isEqualTo(qemuImgError("info", "--backing-chain", top.toString()));
            assertThat(jhvImg("info", "-U", "--backing-chain", top.toString()).exit()).isZero();
        }
    }

    @Test
    void commitWritesTheBaseItsOwnChainHasOpen() throws Exception {
        Path base = qcow2("cb.qcow2");
        Path top = tmp.resolve("ct.qcow2");
        Qemu.ok("qemu-img", "create", "-f", "qcow2", "-b", "cb.qcow2", "-F", "qcow2", top.toString());
        Qemu.ok("qemu-io", "-c", "write -P 7 0 64k", top.toString());
        assertThat(jhvImg("commit", top.toString()).exit()).isZero();
        try (var b = Qcow2Image.open(base, Access.reader())) {
            var buf = ByteBuffer.allocate(1);
            b.read(0, buf);
            assertThat(buf.get(0)).isEqualTo((byte) 7);
        }
        Qemu.assertClean(base);
        Qemu.assertClean(top);
        assertThat(Files.exists(top)).isTrue();
    }
}
