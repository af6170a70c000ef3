package dev.jhv.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jhv.core.kvm.Kvm;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stream written by an earlier build (golden/old.stream.gz: the test guest in {@code mode=idle hb=200} on two
 * CPUs, stopped after its third heartbeat and saved with {@code migrate file:}, by the build whose JSON codec was
 * hand-written) still reads whole, and a destination whose board has devices that build lacked (the PCI chipset,
 * IDE) refuses it by name instead of loading part of it. Loading it again needs machine versions (QEMU's
 * pc-i440fx-N), which jhv does not have yet.
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
        // That build's PC had no PCI chipset and no IDE controller: the board it describes is not this one. The
        // destination refuses it by naming each device it has that the stream lacks, and exits as QEMU does.
        try (JhvProcess dst = JhvProcess.start("-kernel", JhvProcess.TESTOS_ELF.toString(), "-append",
                "mode=idle hb=200", "-m", "128", "-smp", "2", "-display", "none", "-serial", "stdio",
                "-drive", "file=" + ide + ",if=ide,format=qcow2", "-drive", "file=" + virtio + ",if=none,format=raw",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-incoming", "file:" + stream)) {
            assertThat(dst.awaitExit(BOOT)).isEqualTo(1);
            assertThat(String.join("\n", dst.stderr())).contains("the stream's machine does not match this one")
                    .contains("device i440FX/0: on the destination, not in the stream")
                    .contains("device ide_bus/0: on the destination, not in the stream");
            assertThat(dst.stdout()).noneMatch(l -> l.contains("JHV-GUEST-READY"));
        }
        // the stream itself still reads whole with today's codec
        try (JhvProcess analyze = JhvProcess.wrapped(java.util.List.of(
                JhvProcess.ROOT.resolve("jhv-analyze-migration").toString(), stream.toString()))) {
            assertThat(analyze.awaitExit(BOOT)).isZero();
            assertThat(String.join("\n", analyze.stdout())).contains("port92/outport")
                    .contains("RAM: blocks [pc.ram 128 MiB]");
        }
    }
}
