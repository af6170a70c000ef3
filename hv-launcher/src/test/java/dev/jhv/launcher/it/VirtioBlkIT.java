package dev.jhv.launcher.it;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * virtio-blk-pci end to end: SeaBIOS boots disk.qcow2 from it; testos's virtio-blk driver (mode=vblk) writes,
 * reads back and verifies a pattern through jhv's device on raw (cache=none, the io_uring engine) and qcow2 (the
 * thread-pool engine) and the bytes equal what QEMU's virtio-blk writes; a migration in the middle of the I/O
 * loses nothing.
 */
@Tag("kvm")
class VirtioBlkIT {
    private static final String VBLK_LINE = "VBLK (OK|FAIL|ERROR)[^\\r\\n]*";
    private static final String MODE = "mode=vblk dev=1 lba=2048 sectors=16384 depth=32 seed=5";

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvmFirmwareAndMedia() {
        FirmwareBootIT.needKvmFirmwareAndMedia();
    }

    private Path copy(Path image, String name) throws Exception {
        Path p = tmp.resolve(name);
        Files.copy(image, p, StandardCopyOption.REPLACE_EXISTING);
        return p;
    }

    @Test
    void seaBiosBootsFromVirtioBlkAndTheDriverWritesWhatItWritesUnderQemu() throws Exception {
        Path boot = copy(FirmwareBootIT.DISK, "boot.qcow2");
        Path mine = copy(FirmwareBootIT.OUT.resolve("disk.img"), "mine.img");
        Path theirs = copy(FirmwareBootIT.OUT.resolve("disk.img"), "theirs.img");
        String[] drives = {"-drive", "file=" + boot + ",if=none,id=b0", "-device", "virtio-blk-pci,drive=b0",
                "-drive", "file=" + mine + ",if=none,id=d1,format=raw,cache=none",
                "-device", "virtio-blk-pci,drive=d1,serial=jhv-data"};
        try (JhvProcess vm = FirmwareBootIT.jhv(FirmwareBootIT.concat(FirmwareBootIT.concat(
                new String[] {"-m", "256", "-smp", "2"}, drives), FirmwareBootIT.cmdline(MODE)))) {
            vm.awaitLine("Booting from Hard Disk", FirmwareBootIT.BOOT);
            vm.awaitLine("JHV-GUEST-READY cpus=2", FirmwareBootIT.BOOT);
            assertThat(vm.awaitLine("VBLK DEV [^\\r\\n]*", FirmwareBootIT.BOOT).group())
                    .contains("capacity=131072").contains("serial=jhv-data").contains("flush=1");
            assertThat(vm.awaitLine(VBLK_LINE, FirmwareBootIT.BOOT).group()).startsWith("VBLK OK op=verify");
            vm.send("poweroff\r");
            assertThat(vm.awaitExit(FirmwareBootIT.BOOT)).isZero();
        }
        try (JhvProcess qemu = JhvProcess.wrapped(List.of(FirmwareBootIT.concat(new String[] {
                "qemu-system-x86_64", "-enable-kvm", "-M", "pc", "-m", "256", "-smp", "2", "-display", "none",
                "-serial", "stdio", "-monitor", "none",
                "-drive", "file=" + FirmwareBootIT.DISK + ",if=none,id=b0,snapshot=on", "-device", "virtio-blk-pci,drive=b0",
                "-drive", "file=" + theirs + ",if=none,id=d1,format=raw,cache=none",
                "-device", "virtio-blk-pci,drive=d1,serial=jhv-data"},
                FirmwareBootIT.cmdline(MODE))))) {
            assertThat(qemu.awaitLine(VBLK_LINE, FirmwareBootIT.BOOT).group()).startsWith("VBLK OK op=verify");
            qemu.send("poweroff\r");
            qemu.awaitExit(FirmwareBootIT.BOOT);
        }
        assertThat(JhvProcess.runTool("qemu-img", "compare", "-f", "raw", "-F", "raw", mine.toString(),
                theirs.toString())).contains("Images are identical");
    }

    /** A qcow2 data disk over a raw base, migrated (exec:) with requests in flight; the destination verifies. */
    @Test
    void aMigrationInTheMiddleOfVirtioBlkIoLosesNothing() throws Exception {
        Path base = copy(FirmwareBootIT.OUT.resolve("disk.img"), "base.img");
        Path data = tmp.resolve("data.qcow2");
        JhvProcess.runTool("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "raw",
                data.toString());
        Path state = tmp.resolve("state.bin");
        Path sock = tmp.resolve("src.sock");
        String mode = "mode=vblk dev=1 lba=2048 sectors=65536 depth=32 seed=9";
        String[] args = {"-m", "256", "-drive", "file=" + FirmwareBootIT.DISK + ",if=virtio,snapshot=on",
                "-drive", "file=" + data + ",if=virtio,format=qcow2"};
        try (JhvProcess src = FirmwareBootIT.jhv(FirmwareBootIT.concat(FirmwareBootIT.concat(args,
                new String[] {"-monitor", "unix:" + sock + ",server,nowait"}), FirmwareBootIT.cmdline(mode)));
             MonitorClient mon = MonitorClient.connect(sock, FirmwareBootIT.BOOT)) {
            src.awaitLine("VBLK DEV", FirmwareBootIT.BOOT);
            mon.command("stop");
            mon.command("migrate \"exec:cat > " + state + "\"");
            String info = "";
            for (int i = 0; i < 600 && !info.contains("completed"); i++) {
                info = mon.command("info migrate");
                if (!info.contains("completed")) {
                    Thread.sleep(100);
                }
            }
            assertThat(info).contains("Migration status: completed");
            mon.send("quit");
            assertThat(src.awaitExit(FirmwareBootIT.BOOT)).isZero();
        }
        try (JhvProcess dst = FirmwareBootIT.jhv(FirmwareBootIT.concat(FirmwareBootIT.concat(args,
                new String[] {"-incoming", "exec:cat " + state}), FirmwareBootIT.cmdline(mode)))) {
            assertThat(dst.awaitLine(VBLK_LINE, FirmwareBootIT.BOOT).group()).startsWith("VBLK OK op=verify");
            dst.send("poweroff\r");
            assertThat(dst.awaitExit(FirmwareBootIT.BOOT)).isZero();
        }
        assertThat(JhvProcess.runTool("qemu-img", "check", data.toString())).contains("No errors were found");
        assertThat(JhvProcess.runTool("qemu-img", "compare", "-f", "raw", "-F", "raw", base.toString(),
                FirmwareBootIT.OUT.resolve("disk.img").toString())).as("the base is only read")
                .contains("Images are identical");
    }
}
