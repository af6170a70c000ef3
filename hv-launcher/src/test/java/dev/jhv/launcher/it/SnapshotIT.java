package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** savevm/loadvm/delvm/info snapshots on a qcow2 drive, checked with the real qemu-img. */
@Tag("kvm")
@Tag("qemu")
class SnapshotIT {
    static final Duration BOOT = Duration.ofSeconds(60);
    static final String WORKLOAD = "mode=dirty mib=32 hb=200";

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    @Test
    void savevmAndLoadvmInOneProcessAndAcrossProcesses() throws Exception {
        Path disk = tmp.resolve("disk.qcow2");
        JhvProcess.runTool(JhvProcess.ROOT.resolve("jhv-img").toString(), "create", "-f", "qcow2", disk.toString(), "64M");
        Path sock = tmp.resolve("mon.sock");
        String drive = "file=" + disk + ",format=qcow2,if=none,id=disk0";
        long savedSeq;
        try (JhvProcess jhv = JhvProcess.boot(WORKLOAD, "-m", "256", "-smp", "2", "-drive", drive,
                "-monitor", "unix:" + sock + ",server,nowait");
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            jhv.awaitLine("HB cpu=0 seq=3\\b", BOOT);
            assertThat(mon.command("info block")).contains("disk0").contains(disk.toString());
            assertThat(mon.command("savevm before")).isBlank();
            savedSeq = lastHeartbeat(jhv);
            String list = mon.command("info snapshots");
            assertThat(list).contains("ID        TAG               VM SIZE                DATE     VM CLOCK")
                    .contains("before").contains("MiB");
            int at = jhv.lineCount();
            jhv.awaitLine(Pattern.compile("HB cpu=0 seq=" + (savedSeq + 3) + "\\b"), at, BOOT);
            assertThat(mon.command("loadvm before")).isBlank();
            // Time went back: the next heartbeat continues from the snapshot, not from where the guest was.
            int after = jhv.lineCount();
            Matcher next = jhv.awaitLine(Pattern.compile("HB cpu=0 seq=(\\d+)"), after, BOOT);
            assertThat(Long.parseLong(next.group(1))).isLessThanOrEqualTo(savedSeq + 2);
            int v = jhv.lineCount();
            jhv.send("verify\r");
            jhv.awaitLine(Pattern.compile("VERIFY OK pages=8192"), v, BOOT);
            assertThat(mon.command("loadvm nosuchtag")).contains("nosuchtag");
            assertThat(mon.command("info status")).contains("VM status: running");
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
        String qemuList = JhvProcess.runTool("qemu-img", "snapshot", "-l", disk.toString());
        assertThat(qemuList).contains("before").containsPattern("\\d+(\\.\\d+)? MiB");
        assertThat(JhvProcess.runTool("qemu-img", "check", disk.toString())).contains("No errors were found");

        try (JhvProcess jhv = JhvProcess.boot(WORKLOAD, "-m", "256", "-smp", "2", "-drive", drive,
                "-loadvm", "before")) {
            Matcher first = jhv.awaitLine("HB cpu=0 seq=(\\d+)", BOOT);
            assertThat(Long.parseLong(first.group(1))).isEqualTo(savedSeq + 1);
            assertThat(jhv.stdout()).noneMatch(l -> l.contains("JHV-GUEST-READY"));
            jhv.send("verify\r");
            jhv.awaitLine("VERIFY OK pages=8192", BOOT);
            jhv.send("poweroff\r");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void delvmAndAMachineWithoutQcow2() throws Exception {
        Path disk = tmp.resolve("disk.qcow2");
        JhvProcess.runTool("qemu-img", "create", "-f", "qcow2", disk.toString(), "16M");
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-m", "128", "-drive",
                "file=" + disk + ",format=qcow2,if=none,id=d0", "-monitor", "unix:" + sock + ",server,nowait");
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            mon.command("savevm one");
            mon.command("savevm two");
            mon.command("delvm one");
            String list = mon.command("info snapshots");
            assertThat(list).contains("two").doesNotContain(" one ");
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
        assertThat(JhvProcess.runTool("qemu-img", "snapshot", "-l", disk.toString())).contains("two").doesNotContain(" one ");

        Path sock2 = tmp.resolve("mon2.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-m", "128", "-monitor", "unix:" + sock2 + ",server,nowait");
             MonitorClient mon = MonitorClient.connect(sock2, BOOT)) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            assertThat(mon.command("savevm x")).contains("No block device can accept snapshots");
            assertThat(mon.command("info status")).contains("VM status: running");
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    private static long lastHeartbeat(JhvProcess jhv) {
        return SaveRestoreIT.lastHeartbeat(jhv.stdout());
    }
}
