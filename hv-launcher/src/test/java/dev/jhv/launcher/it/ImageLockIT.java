package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A running jhv locks its disks as qemu-system does: a second jhv, qemu-img and QEMU keep out of them. */
@Tag("kvm")
@Tag("qemu")
class ImageLockIT {
    static final Duration BOOT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    record Result(int exit, String out) { }

    static Result exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not end");
        }
        return new Result(p.exitValue(), out);
    }

    static String jhvImg() {
        return JhvProcess.ROOT.resolve("jhv-img").toString();
    }

    /** Starts a second jhv on the same drive; it must give up before booting, with these two lines. */
    static List<String> refused(String... args) throws Exception {
        try (JhvProcess second = JhvProcess.boot("mode=idle", args)) {
            assertThat(second.awaitExit(BOOT)).as("second jhv: %s", second.stderr()).isEqualTo(1);
            assertThat(second.stdout()).noneMatch(l -> l.contains("JHV-GUEST-READY"));
            return second.stderr();
        }
    }

    @Test
    void aRunningJhvKeepsOthersOutOfItsDiskAndStillSaves() throws Exception {
        Path disk = tmp.resolve("disk.qcow2");
        String img = disk.toString();
        assertThat(exec("qemu-img", "create", "-f", "qcow2", img, "32M").exit()).isZero();
        Path sock = tmp.resolve("mon.sock");
        String drive = "file=" + img + ",format=qcow2,if=none,id=disk0";
        String inUse = "Is another process using the image [" + img + "]?";
        try (JhvProcess jhv = JhvProcess.boot("mode=idle hb=200", "-m", "128", "-drive", drive,
                "-monitor", "unix:" + sock + ",server,nowait");
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);

            assertThat(refused("-m", "128", "-drive", drive)).containsExactly(
                    "jhv: -drive " + drive + ": Failed to get \"write\" lock", inUse);
            assertThat(refused("-m", "128", "-drive", drive + ",readonly=on")).containsExactly(
                    "jhv: -drive " + drive + ",readonly=on: Failed to get shared \"write\" lock", inUse);
            assertThat(refused("-m", "128", img)).containsExactly("jhv: " + img + ": Failed to get \"write\" lock", inUse);

            var qemuImg = exec("qemu-img", "snapshot", "-c", "theirs", img);
            assertThat(qemuImg.exit()).isEqualTo(1);
            assertThat(qemuImg.out()).isEqualTo("qemu-img: Could not open '" + img + "': Failed to get \"write\" lock\n"
                    + inUse + "\n");
            var ours = exec(jhvImg(), "snapshot", "-c", "theirs", img);
            assertThat(ours.exit()).isEqualTo(1);
            assertThat(ours.out()).isEqualTo("jhv-img: Could not open '" + img + "': Failed to get \"write\" lock\n"
                    + inUse + "\n");
            var qemu = exec("qemu-system-x86_64", "-machine", "none", "-display", "none", "-serial", "none",
                    "-monitor", "none", "-drive", "file=" + img + ",if=none,id=d0");
            assertThat(qemu.out()).isEqualTo("qemu-system-x86_64: -drive file=" + img
                    + ",if=none,id=d0: Failed to get \"write\" lock\n" + inUse + "\n");
            assertThat(exec(jhvImg(), "info", "-U", img).out()).contains("file format: qcow2");
            assertThat(exec("qemu-img", "info", "-U", img).exit()).isZero();

            // the first one never noticed
            assertThat(jhv.isAlive()).isTrue();
            assertThat(mon.command("info status")).contains("VM status: running");
            assertThat(mon.command("savevm mine")).isBlank();
            assertThat(mon.command("info snapshots")).contains("mine");
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
        String list = exec("qemu-img", "snapshot", "-l", img).out();
        assertThat(list).contains("mine").doesNotContain("theirs");
        var check = exec("qemu-img", "check", img);
        assertThat(check.exit()).as(check.out()).isZero();
        assertThat(check.out()).contains("No errors were found");
    }

    @Test
    void aReadOnlyDriveLetsReadersInButNoWriter() throws Exception {
        Path disk = tmp.resolve("ro.qcow2");
        String img = disk.toString();
        assertThat(exec("qemu-img", "create", "-f", "qcow2", img, "16M").exit()).isZero();
        String drive = "file=" + img + ",format=qcow2,if=none,id=d0,readonly=on";
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-m", "128", "-drive", drive)) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            assertThat(exec("qemu-img", "info", img).exit()).isZero();
            assertThat(exec(jhvImg(), "check", img).exit()).isZero();
            var snap = exec("qemu-img", "snapshot", "-c", "x", img);
            assertThat(snap.out()).contains("Failed to get \"write\" lock");
            // two read-only guests share it, as two qemu-system readonly=on do
            try (JhvProcess other = JhvProcess.boot("mode=idle", "-m", "128", "-drive", drive)) {
                other.awaitLine("JHV-GUEST-READY", BOOT);
            }
            assertThat(refused("-m", "128", "-drive", "file=" + img + ",format=qcow2,if=none,id=d0")).first()
                    .isEqualTo("jhv: -drive file=" + img + ",format=qcow2,if=none,id=d0: Failed to get \"write\" lock");
        }
    }
}
