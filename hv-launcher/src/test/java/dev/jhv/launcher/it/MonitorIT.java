package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The HMP monitor on a unix socket driving a running test guest. */
@Tag("kvm")
class MonitorIT {
    static final Duration BOOT = Duration.ofSeconds(60);
    static final Pattern HB = Pattern.compile("HB cpu=0 seq=(\\d+)");

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    private String[] withMonitor(Path sock, String... more) {
        String[] base = {"-monitor", "unix:" + sock + ",server,nowait"};
        String[] all = new String[base.length + more.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void dashSWaitsForCont() throws Exception {
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", withMonitor(sock, "-S"));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            assertThat(mon.command("info status")).contains("VM status: paused (prelaunch)");
            assertThat(jhv.stdout()).noneMatch(l -> l.contains("JHV-GUEST-READY"));
            assertThat(mon.command("cont")).isBlank();
            jhv.awaitLine("JHV-GUEST-READY cpus=1", BOOT);
            assertThat(mon.command("info status")).contains("VM status: running");
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void commandsSentBeforeTheMachineHasStartedActOnceItHas() throws Exception {
        Path serial = tmp.resolve("serial.log");
        try (JhvProcess jhv = JhvProcess.start("-kernel", JhvProcess.TESTOS.toString(), "-append", "mode=poweroff",
                "-display", "none", "-serial", "file:" + serial, "-monitor", "stdio", "-S")) {
            jhv.send("info status\ncont\n"); // in the pipe before the JVM has even started
            assertThat(jhv.awaitExit(BOOT)).isZero();
            assertThat(jhv.stdout()).anyMatch(l -> l.contains("VM status: paused (prelaunch)"));
            assertThat(java.nio.file.Files.readString(serial)).contains("JHV-GUEST-READY");
        }
    }

    @Test
    void stopFreezesTheHeartbeatAndContResumesItWithoutAGap() throws Exception {
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle hb=100", withMonitor(sock));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            jhv.awaitLine("HB cpu=0 seq=3\\b", BOOT);
            mon.command("stop");
            assertThat(mon.command("info status")).contains("VM status: paused");
            int linesAtStop = jhv.lineCount();
            long lastSeq = lastHeartbeat(jhv.stdout());
            // An observation window: a paused guest must print nothing in it.
            Thread.sleep(1000);
            assertThat(jhv.lineCount()).as("no output while paused").isEqualTo(linesAtStop);
            mon.command("cont");
            Matcher next = jhv.awaitLine(HB, linesAtStop, BOOT);
            assertThat(Long.parseLong(next.group(1))).isEqualTo(lastSeq + 1);
            assertThat(mon.command("info status")).contains("VM status: running");
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    private static long lastHeartbeat(List<String> lines) {
        long last = -1;
        for (String l : lines) {
            Matcher m = HB.matcher(l);
            if (m.find()) {
                last = Long.parseLong(m.group(1));
            }
        }
        return last;
    }

    @Test
    void systemResetRebootsTheGuest() throws Exception {
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", withMonitor(sock, "-smp", "2"));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            jhv.awaitLine("JHV-GUEST-READY cpus=2", BOOT);
            int after = jhv.lineCount();
            mon.command("system_reset");
            jhv.awaitLine(Pattern.compile("JHV-GUEST-READY cpus=2"), after, BOOT);
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void noRebootMakesAResetExit() throws Exception {
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", withMonitor(sock, "-no-reboot"));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            mon.send("system_reset");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void badCommandsLeaveTheMonitorUsable() throws Exception {
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", withMonitor(sock));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            assertThat(mon.command("frobnicate")).contains("unknown command: 'frobnicate'");
            assertThat(mon.command("info nosuchthing")).isNotBlank();
            assertThat(mon.command("info version")).contains("0.1.0");
            assertThat(mon.command("info kvm")).contains("kvm support: enabled");
            assertThat(mon.command("info cpus")).contains("CPU #0");
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void systemPowerdownPressesTheAcpiPowerButton() throws Exception {
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", withMonitor(sock));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            mon.send("system_powerdown");
            jhv.awaitLine("POWER BUTTON", BOOT);
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void noShutdownKeepsThePoweredOffMachinePaused() throws Exception {
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=poweroff", withMonitor(sock, "-no-shutdown", "-S"));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            mon.command("cont");
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            String status = "";
            long deadline = System.nanoTime() + BOOT.toNanos();
            while (!status.contains("shutdown") && System.nanoTime() < deadline) {
                status = mon.command("info status");
            }
            assertThat(status).as("QEMU 7.2 prints this after a guest power-off with -no-shutdown")
                    .contains("VM status: paused (shutdown)");
            assertThat(jhv.isAlive()).isTrue();
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }
}
