package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the host cannot give is refused before anything runs, in one line with the figures, as QEMU refuses it:
 * guest RAM beyond memory and swap, an address-space limit, a kernel that is a device, a monitor line without end.
 */
class HostLimitsIT {
    static final Duration BOOT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    private static JhvProcess failing(String... args) throws Exception {
        JhvProcess jhv = JhvProcess.start(args);
        assertThat(jhv.awaitExit(BOOT)).isEqualTo(1);
        assertThat(jhv.stderr()).hasSize(1);
        return jhv;
    }

    @Test
    @Tag("kvm")
    void guestRamBeyondTheHostIsRefused() throws Exception {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (JhvProcess jhv = failing(JhvProcess.guestArgs("mode=poweroff", "-m", "1T").toArray(String[]::new))) {
            assertThat(jhv.stderr().getFirst())
                    .startsWith("jhv: cannot set up guest memory 'pc.ram': Cannot allocate memory")
                    .contains("1048576 MiB asked for");
        }
    }

    @Test
    void aKernelThatIsADeviceIsRefusedAtOnce() throws Exception {
        try (JhvProcess jhv = failing("-m", "256", "-kernel", "/dev/zero", "-display", "none")) {
            assertThat(jhv.stderr().getFirst()).isEqualTo("jhv: could not load kernel file '/dev/zero': not a "
                    + "regular file");
        }
    }

    /** Under ulimit -v: too small for the JVM, then too small for the guest; each says what it needs. */
    @Test
    @Tag("kvm")
    void anAddressSpaceLimitIsNamedWithWhatItNeeds() throws Exception {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        String args = String.join(" ", JhvProcess.guestArgs("mode=poweroff").stream()
                .map(a -> "'" + a + "'").toList());
        var tooSmall = run("ulimit -v 800000; exec ./jhv " + args + " -m 256");
        assertThat(tooSmall.output()).startsWith("jhv: the address-space limit (ulimit -v) is 781 MiB; jhv needs");
        assertThat(tooSmall.status()).isEqualTo(1);
        var guestTooBig = run("ulimit -v 1400000; exec ./jhv " + args + " -m 2048");
        assertThat(guestTooBig.output()).startsWith("jhv: cannot set up guest memory 'pc.ram': Cannot allocate "
                + "memory (the address-space limit, ulimit -v, is 1367 MiB;").contains("raise it to at least");
        assertThat(guestTooBig.status()).isEqualTo(1);
        // QEMU runs a small guest in about 500 MB; jhv's own reservation must leave room for one under 1.5 GB
        var fits = run("ulimit -v 1500000; exec ./jhv " + args + " -m 256");
        assertThat(fits.output()).contains("JHV-GUEST-READY");
        assertThat(fits.status()).isZero();
    }

    record Result(int status, String output) { }

    private static Result run(String script) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", script).directory(JhvProcess.ROOT.toFile())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(BOOT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out.strip());
    }

    /** A line with no end is capped as QEMU's readline caps it: jhv neither grows nor stops answering. */
    @Test
    @Tag("kvm")
    void aMonitorLineWithoutEndIsCapped() throws Exception {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-m", "128", "-monitor", "unix:" + sock + ",server,nowait");
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            // 16 MiB without a newline: taken as fast as it comes, all but the first 4095 bytes dropped
            String flood = "x".repeat(16 << 20);
            String answer = mon.command(flood);
            assertThat(answer).contains("x".repeat(4095)).doesNotContain("x".repeat(4096));
            assertThat(mon.command("info status")).contains("VM status: running");
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
            assertThat(jhv.stderr()).noneMatch(l -> l.contains("OutOfMemoryError"));
        }
    }

    /** SIGTERM ends jhv as it ends QEMU: one line naming the signal, exit 0. */
    @Test
    @Tag("kvm")
    void sigtermEndsJhvWithQemusLine() throws Exception {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle")) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            new ProcessBuilder("kill", "-TERM", Long.toString(jhv.pid())).start().waitFor();
            assertThat(jhv.awaitExit(BOOT)).isZero();
            assertThat(jhv.stderr()).containsExactly("jhv: terminating on signal 15");
        }
    }

    /**
     * On a terminal: with -nographic, Ctrl-C is the guest's (QEMU turns ISIG off for mon:stdio); with -serial stdio
     * it ends jhv with QEMU's line. The terminal is a pty that script(1) makes.
     */
    @Test
    @Tag("kvm")
    void ctrlCOnTheConsoleGoesToTheGuestWithNographic() throws Exception {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        // exec: script(1) runs $SHELL -c, and a shell that waits (dash does) would itself die of the SIGINT
        String cmd = "exec " + JhvProcess.ROOT.resolve("jhv") + " -kernel " + JhvProcess.TESTOS + " -append mode=idle -m 128"
                + " -nographic";
        try (JhvProcess jhv = JhvProcess.wrapped(List.of("script", "-qfec", cmd, "/dev/null"))) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            int at = jhv.lineCount();
            jhv.send("\u0003ping\r");
            // the guest got the Ctrl-C as a byte: its line is "<ETX>ping", an unknown command
            jhv.awaitLine(java.util.regex.Pattern.compile("UNKNOWN COMMAND \u0003ping"), at, BOOT);
            assertThat(jhv.isAlive()).isTrue();
            jhv.send("\u0001x"); // Ctrl-A x
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
        String serial = "exec " + JhvProcess.ROOT.resolve("jhv") + " -kernel " + JhvProcess.TESTOS
                + " -append mode=idle -m 128 -display none -serial stdio";
        try (JhvProcess jhv = JhvProcess.wrapped(List.of("script", "-qfec", serial, "/dev/null"))) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            jhv.send("\u0003");
            assertThat(jhv.awaitExit(BOOT)).isZero();
            assertThat(String.join("\n", jhv.stdout())).contains("jhv: terminating on signal 2");
        }
    }
}
