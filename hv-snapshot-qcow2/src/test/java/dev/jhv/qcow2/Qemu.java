package dev.jhv.qcow2;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the reference tools (qemu-img, qemu-io) and jhv-img as subprocesses. */
final class Qemu {
    private Qemu() {}

    record Result(int exit, String out) {}

    /** Whether the reference qemu-img is on the PATH. */
    static boolean available() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (java.nio.file.Files.isExecutable(Path.of(dir, "qemu-img"))) return true;
        }
        return false;
    }

    /** Skips the calling test, saying why, where the reference qemu-img is not installed. */
    static void assumeQemuImg() {
        org.junit.jupiter.api.Assumptions.assumeTrue(available(), "qemu-img is not installed (apt-get install qemu-utils)");
    }

    static Result run(String... cmd) throws IOException, InterruptedException {
        var pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        var p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    static String ok(String... cmd) throws IOException, InterruptedException {
        var r = run(cmd);
        if (r.exit() != 0) throw new AssertionError(String.join(" ", cmd) + " failed (" + r.exit() + "): " + r.out());
        return r.out();
    }

    /** Runs the jhv-img main class in a fresh JVM on this test's classpath. */
    static Result jhvImg(String... args) throws IOException, InterruptedException {
        var cmd = new ArrayList<String>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("dev.jhv.qcow2.tool.JhvImg");
        cmd.addAll(List.of(args));
        return run(cmd.toArray(String[]::new));
    }

    static void assertClean(Path img) throws IOException, InterruptedException {
        var r = run("qemu-img", "check", img.toString());
        if (r.exit() != 0 || !r.out().contains("No errors were found")) {
            throw new AssertionError("qemu-img check " + img + " (" + r.exit() + "):\n" + r.out());
        }
    }

    static byte[] toRaw(Path img, Path tmp) throws IOException, InterruptedException {
        Path raw = tmp.resolve("conv-" + System.nanoTime() + ".raw");
        ok("qemu-img", "convert", "-O", "raw", img.toString(), raw.toString());
        byte[] b = java.nio.file.Files.readAllBytes(raw);
        java.nio.file.Files.delete(raw);
        return b;
    }
}
