package dev.jhv.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jhv.core.kvm.Kvm;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stream written by an earlier build (golden/old.stream.gz: the test guest in {@code mode=idle hb=200} on two
 * CPUs, stopped after its third heartbeat and saved with {@code migrate file:}, by the build whose JSON codec was
 * hand-written) still loads: the guest goes on from its saved heartbeats instead of booting again.
 */
@Tag("kvm")
class OldStreamIT {
    static final Duration BOOT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    @Test
    void aStreamOfAnEarlierBuildLoadsAndTheGuestRunsOn() throws Exception {
        Path stream = tmp.resolve("old.stream");
        try (InputStream in = new GZIPInputStream(
                OldStreamIT.class.getResourceAsStream("/dev/jhv/launcher/golden/old.stream.gz"))) {
            Files.copy(in, stream);
        }
        Path ide = tmp.resolve("d1.qcow2");
        Path virtio = tmp.resolve("d2.raw");
        try (JhvProcess img = JhvProcess.wrapped(java.util.List.of(JhvProcess.ROOT.resolve("jhv-img").toString(),
                "create", "-f", "qcow2", ide.toString(), "16M"))) {
            assertThat(img.awaitExit(BOOT)).isZero();
        }
        try (var f = new RandomAccessFile(virtio.toFile(), "rw")) {
            f.setLength(8 << 20);
        }
        Path sock = tmp.resolve("dst.sock");
        try (JhvProcess dst = JhvProcess.start("-kernel", JhvProcess.TESTOS_ELF.toString(), "-append",
                "mode=idle hb=200", "-m", "128", "-smp", "2", "-display", "none", "-serial", "stdio",
                "-drive", "file=" + ide + ",if=ide,format=qcow2", "-drive", "file=" + virtio + ",if=virtio,format=raw",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-incoming", "file:" + stream,
                "-monitor", "unix:" + sock + ",server,nowait");
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            Matcher hb = dst.awaitLine("HB cpu=0 seq=(\\d+)", BOOT);
            assertThat(Long.parseLong(hb.group(1))).as("the first heartbeat after the load continues the saved ones")
                    .isGreaterThanOrEqualTo(2);
            assertThat(dst.stdout()).noneMatch(l -> l.contains("JHV-GUEST-READY"));
            assertThat(mon.command("info status")).contains("VM status: running");
            assertThat(mon.command("info migrate")).doesNotContain("failed");
            mon.send("quit");
            assertThat(dst.awaitExit(BOOT)).isZero();
        }
    }
}
