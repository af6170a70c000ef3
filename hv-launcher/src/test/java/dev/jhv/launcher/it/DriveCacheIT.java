package dev.jhv.launcher.it;

import dev.jhv.core.block.OpenFileFlags;
import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * -drive cache=none through the launcher: the raw image is opened with O_DIRECT (seen in the running jhv's
 * /proc fdinfo), and testos's ATA driver writes through it by DMA (requests or memory O_DIRECT cannot take as they
 * are go through the bounce buffer) the same bytes as QEMU with cache=none.
 */
@Tag("kvm")
class DriveCacheIT {
    private static final int O_DIRECT = OpenFileFlags.O_DIRECT;

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvmFirmwareAndMedia() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        assumeTrue(Files.exists(FirmwareBootIT.SEABIOS), "SeaBIOS missing: scripts/install-deps installs seabios");
        assumeTrue(Files.exists(FirmwareBootIT.DISK), "test media missing: run guest-images/build");
    }

    private static List<Integer> flagsOf(long pid, Path file) throws IOException {
        return OpenFileFlags.of(Long.toString(pid), file);
    }

    @Test
    void cacheNoneOpensTheRawImageWithODirectAndWritesWhatQemuWrites() throws Exception {
        Path mine = tmp.resolve("mine.raw");
        Path theirs = tmp.resolve("theirs.raw");
        JhvProcess.runTool("qemu-img", "convert", "-O", "raw", FirmwareBootIT.DISK.toString(), mine.toString());
        Files.copy(mine, theirs);
        String[] mode = FirmwareBootIT.cmdline("mode=disk dma=1 lba=8192 sectors=4096 seed=11 lba48=1");
        try (JhvProcess vm = FirmwareBootIT.jhv(FirmwareBootIT.concat(new String[] {"-m", "256", "-drive",
                "file=" + mine + ",format=raw,cache=none"}, mode))) {
            assertThat(vm.awaitLine(FirmwareBootIT.DISK_LINE, FirmwareBootIT.BOOT).group()).startsWith("DISK OK");
            assertThat(flagsOf(vm.pid(), mine)).as("a descriptor of the image has O_DIRECT")
                    .anyMatch(f -> (f & O_DIRECT) != 0);
            vm.send("poweroff\r");
            assertThat(vm.awaitExit(FirmwareBootIT.BOOT)).isZero();
        }
        try (JhvProcess qemu = JhvProcess.wrapped(List.of(FirmwareBootIT.concat(new String[] {"qemu-system-x86_64",
                "-enable-kvm", "-M", "pc", "-m", "256", "-display", "none", "-serial", "stdio", "-monitor", "none",
                "-drive", "file=" + theirs + ",format=raw,cache=none"}, mode)))) {
            assertThat(qemu.awaitLine(FirmwareBootIT.DISK_LINE, FirmwareBootIT.BOOT).group()).startsWith("DISK OK");
            qemu.send("poweroff\r");
            qemu.awaitExit(FirmwareBootIT.BOOT);
        }
        assertThat(JhvProcess.runTool("qemu-img", "compare", "-f", "raw", "-F", "raw", mine.toString(),
                theirs.toString())).contains("Images are identical");
    }

    @Test
    void writethroughOpensTheRawImageWithODsync() throws Exception {
        Path raw = tmp.resolve("wt.raw");
        JhvProcess.runTool("qemu-img", "convert", "-O", "raw", FirmwareBootIT.DISK.toString(), raw.toString());
        try (JhvProcess vm = FirmwareBootIT.jhv(FirmwareBootIT.concat(new String[] {"-m", "256", "-drive",
                "file=" + raw + ",format=raw,cache=writethrough"}, FirmwareBootIT.cmdline("mode=disk dma=0 sectors=64 seed=5")))) {
            assertThat(vm.awaitLine(FirmwareBootIT.DISK_LINE, FirmwareBootIT.BOOT).group()).startsWith("DISK OK");
            assertThat(flagsOf(vm.pid(), raw)).as("a descriptor of the image has O_DSYNC")
                    .anyMatch(f -> (f & OpenFileFlags.O_DSYNC) != 0);
            vm.send("poweroff\r");
            assertThat(vm.awaitExit(FirmwareBootIT.BOOT)).isZero();
        }
    }
}
