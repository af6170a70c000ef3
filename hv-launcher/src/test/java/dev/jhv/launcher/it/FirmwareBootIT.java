package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Disk and CD boots through the PC firmware (SeaBIOS) with the real ./jhv: PCI, fw_cfg, IDE, and what testos
 * reports from its own ATA driver, checked against QEMU's IDE on the same images.
 */
@Tag("kvm")
class FirmwareBootIT {
    static final Duration BOOT = Duration.ofSeconds(90);
    static final Path OUT = JhvProcess.ROOT.resolve("guest-images/out");
    static final Path DISK = OUT.resolve("disk.qcow2");
    static final Path ISO = OUT.resolve("testos.iso");
    static final Path SEABIOS = Path.of("/usr/share/seabios/bios-256k.bin");
    static final String DISK_LINE = "DISK (OK|FAIL|ERROR)[^\\r\\n]*";

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvmFirmwareAndMedia() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        assumeTrue(Files.exists(SEABIOS), "SeaBIOS missing: scripts/install-deps installs Debian's seabios");
        assumeTrue(Files.exists(DISK) && Files.exists(ISO), "test media missing: run guest-images/build");
    }

    /** The guest's command line, through fw_cfg as testos's loader reads it. */
    static String[] cmdline(String text) {
        return new String[] {"-fw_cfg", "name=opt/testos/cmdline,string=" + text};
    }

    static JhvProcess jhv(String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("-display", "none", "-serial", "stdio"));
        a.addAll(List.of(args));
        return JhvProcess.start(a.toArray(String[]::new));
    }

    Path copy(Path image) throws Exception {
        Path p = tmp.resolve(image.getFileName() + "-" + System.nanoTime());
        Files.copy(image, p, StandardCopyOption.REPLACE_EXISTING);
        return p;
    }

    @Test
    void theCommandUsersTypeFirstBootsTheDiskThroughSeaBios() throws Exception {
        try (JhvProcess vm = jhv(concat(new String[] {"-m", "2048", "-smp", "2", "-snapshot", DISK.toString()},
                cmdline("mode=poweroff")))) {
            int banner = vm.awaitLine(Pattern.compile("SeaBIOS \\(version "), 0, BOOT).start();
            assertThat(banner).isGreaterThanOrEqualTo(0);
            vm.awaitLine("Booting from Hard Disk", BOOT);
            vm.awaitLine("testos-boot: drive=0x80 .* cmdline=fw_cfg", BOOT);
            Matcher m = vm.awaitLine("JHV-GUEST-READY cpus=(\\d+) mem=(\\d+)", BOOT);
            assertThat(m.group(1)).as("SeaBIOS started the second CPU, testos found both").isEqualTo("2");
            assertThat(Integer.parseInt(m.group(2))).isBetween(2040, 2048);
            assertThat(vm.awaitExit(BOOT)).as("ACPI power-off through the PM block SeaBIOS placed").isZero();
        }
    }

    @Test
    void theDefaultCommandLineOfTheImageIsUsedWithoutFwCfgAndRamAbove4GiBIsSeen() throws Exception {
        try (JhvProcess vm = jhv("-m", "4096", "-snapshot", DISK.toString())) {
            vm.awaitLine("cmdline=default", BOOT);
            Matcher m = vm.awaitLine("JHV-GUEST-READY cpus=1 mem=(\\d+)", BOOT);
            assertThat(Integer.parseInt(m.group(1))).as("RAM above the PCI hole, through SeaBIOS's e820")
                    .isBetween(4090, 4096);
        }
    }

    @Test
    void theCdBootsWithBootD() throws Exception {
        try (JhvProcess vm = jhv(concat(new String[] {"-m", "512", "-hda", DISK.toString(), "-snapshot",
                "-cdrom", ISO.toString(), "-boot", "d"}, cmdline("mode=poweroff")))) {
            vm.awaitLine("Booting from DVD/CD", BOOT);
            vm.awaitLine("testos-boot: drive=0xe0 sector=0x0800", BOOT);
            vm.awaitLine("JHV-GUEST-READY cpus=1 mem=512", BOOT);
            assertThat(vm.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void aSlaveDiskAndAQcow2OverlayOnARawBaseBoot() throws Exception {
        Path raw = tmp.resolve("base.raw");
        JhvProcess.runTool("qemu-img", "convert", "-O", "raw", DISK.toString(), raw.toString());
        Path overlay = tmp.resolve("overlay.qcow2");
        JhvProcess.runTool("qemu-img", "create", "-f", "qcow2", "-b", raw.toString(), "-F", "raw", overlay.toString());
        try (JhvProcess vm = jhv(concat(new String[] {"-m", "256", "-drive", "file=" + overlay + ",index=1"},
                cmdline("mode=disk drive=1 dma=1 sectors=512")))) {
            vm.awaitLine("JHV-GUEST-READY", BOOT);
            Matcher d = vm.awaitLine(DISK_LINE, BOOT);
            assertThat(d.group()).startsWith("DISK OK sectors=512 dma=1").contains("drive=1");
            vm.send("poweroff\r");
            assertThat(vm.awaitExit(BOOT)).isZero();
        }
        assertThat(JhvProcess.runTool("qemu-img", "check", overlay.toString())).contains("No errors were found");
        assertThat(JhvProcess.runTool("qemu-img", "compare", raw.toString(), DISK.toString()))
                .as("the base is only read").contains("Images are identical");
    }

    /** testos's ATA driver writes the same bytes through jhv's IDE as through QEMU's, by PIO and by DMA. */
    @ParameterizedTest(name = "dma={0}")
    @ValueSource(ints = {0, 1})
    void theDiskModeWritesWhatItWritesUnderQemu(int dma) throws Exception {
        String mode = "mode=disk dma=" + dma + " lba=8192 sectors=" + (dma == 1 ? 4096 : 64) + " seed=7 lba48=1";
        Path mine = copy(DISK);
        Path theirs = copy(DISK);
        String ours;
        try (JhvProcess vm = jhv(concat(new String[] {"-m", "256", mine.toString()}, cmdline(mode)))) {
            ours = vm.awaitLine(DISK_LINE, BOOT).group();
            vm.send("poweroff\r");
            assertThat(vm.awaitExit(BOOT)).isZero();
        }
        assertThat(ours).startsWith("DISK OK").contains("dma=" + dma).contains("lba48=1");
        try (JhvProcess qemu = JhvProcess.wrapped(List.of(concat(new String[] {"qemu-system-x86_64",
                "-enable-kvm", "-M", "pc", "-m", "256", "-display", "none", "-serial", "stdio", "-monitor", "none",
                theirs.toString()}, cmdline(mode))))) {
            assertThat(qemu.awaitLine(DISK_LINE, BOOT).group()).startsWith("DISK OK");
            qemu.send("poweroff\r");
            qemu.awaitExit(BOOT);
        }
        assertThat(JhvProcess.runTool("qemu-img", "compare", mine.toString(), theirs.toString())).contains("Images are identical");
        assertThat(JhvProcess.runTool("qemu-img", "check", mine.toString())).contains("No errors were found");
    }

    @Test
    void badPrdsAndLbasPastTheEndFailTheRequestNotJhv() throws Exception {
        try (JhvProcess vm = jhv(concat(new String[] {"-m", "256", "-snapshot", DISK.toString()},
                cmdline("mode=disk-bad")))) {
            Matcher prd = vm.awaitLine("DISK BADPRD dir=read [^\\r\\n]*", BOOT);
            assertThat(prd.group()).as("the bus master reports the error").containsPattern("bm=0x[0-9a-f]*[2367]");
            vm.awaitLine("DISK BADLBA dma=0 [^\\r\\n]*error=0x1[0-9a-f]", BOOT); // IDNF
            vm.awaitLine("DISK SURVIVED", BOOT);
            int at = vm.lineCount();
            vm.send("ping\r");
            vm.awaitLine(Pattern.compile("PONG"), at, BOOT);
            vm.send("poweroff\r");
            assertThat(vm.awaitExit(BOOT)).isZero();
        }
    }

    /** savevm in the middle of PIO transfers, then loadvm: the guest finishes them and its data checks out. */
    @Test
    void savevmAndLoadvmInTheMiddleOfDiskIo() throws Exception {
        Path disk = copy(DISK);
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess vm = jhv(concat(new String[] {"-m", "256", disk.toString(), "-monitor",
                "unix:" + sock + ",server,nowait"}, cmdline("mode=disk dma=0 sectors=256 count=1")));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            vm.awaitLine("DISK DRIVE", BOOT);
            assertThat(mon.command("savevm mid")).isBlank();
            vm.awaitLine(DISK_LINE, BOOT);
            int at = vm.lineCount();
            assertThat(mon.command("loadvm mid")).isBlank();
            Matcher again = vm.awaitLine(Pattern.compile(DISK_LINE), at, BOOT);
            assertThat(again.group()).as("the restored guest finishes its transfers").startsWith("DISK OK");
            at = vm.lineCount();
            vm.send("diskcheck\r");
            assertThat(vm.awaitLine(Pattern.compile(DISK_LINE), at, BOOT).group()).startsWith("DISK OK");
            mon.send("quit");
            assertThat(vm.awaitExit(BOOT)).isZero();
        }
        assertThat(JhvProcess.runTool("qemu-img", "snapshot", "-l", disk.toString())).contains("mid");
        assertThat(JhvProcess.runTool("qemu-img", "check", disk.toString())).contains("No errors were found");
    }

    /** A disk-booted guest migrates (exec:) in the middle of disk I/O and finishes it on the destination. */
    @Test
    void migrateExecInTheMiddleOfDiskIo() throws Exception {
        Path disk = copy(DISK);
        Path state = tmp.resolve("state.bin");
        Path sock = tmp.resolve("src.sock");
        String mode = "mode=disk dma=0 sectors=256 count=1 seed=3";
        try (JhvProcess src = jhv(concat(new String[] {"-m", "256", disk.toString(), "-monitor",
                "unix:" + sock + ",server,nowait"}, cmdline(mode)));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            src.awaitLine("DISK DRIVE", BOOT);
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
            assertThat(src.awaitExit(BOOT)).isZero();
        }
        try (JhvProcess dst = jhv(concat(new String[] {"-m", "256", disk.toString(), "-incoming",
                "exec:cat " + state}, cmdline(mode)))) {
            assertThat(dst.awaitLine(DISK_LINE, BOOT).group()).startsWith("DISK OK");
            int at = dst.lineCount();
            dst.send("diskcheck\r");
            assertThat(dst.awaitLine(Pattern.compile(DISK_LINE), at, BOOT).group()).startsWith("DISK OK");
            dst.send("poweroff\r");
            assertThat(dst.awaitExit(BOOT)).isZero();
        }
        assertThat(JhvProcess.runTool("qemu-img", "check", disk.toString())).contains("No errors were found");
    }

    @Test
    void infoPciShowsWhatTheFirmwareProgrammedAndTheCdChangesMedia() throws Exception {
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess vm = jhv("-m", "256", "-snapshot", DISK.toString(), "-cdrom", ISO.toString(), "-monitor",
                "unix:" + sock + ",server,nowait");
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            vm.awaitLine("JHV-GUEST-READY", BOOT);
            String pci = mon.command("info pci");
            assertThat(pci).contains("  Bus  0, device   1, function 1:\n    IDE controller: PCI device 8086:7010")
                    .containsPattern("BAR4: I/O at 0x[0-9a-f]{4} \\[0x[0-9a-f]{4}\\]\\.")
                    .contains("Bridge: PCI device 8086:7113").contains("IRQ 9, pin A");
            assertThat(mon.command("eject ide0-hd0")).contains("Device 'ide0-hd0' is not removable");
            assertThat(mon.command("eject nosuch")).contains("Device 'nosuch' not found");
            assertThat(mon.command("eject ide1-cd0")).isBlank();
            assertThat(mon.command("change ide1-cd0 " + ISO)).isBlank();
            assertThat(mon.command("change ide1-cd0 " + tmp.resolve("none.iso"))).contains("Could not open");
            int at = vm.lineCount();
            vm.send("ping\r");
            vm.awaitLine(Pattern.compile("PONG"), at, BOOT);
            mon.send("quit");
            assertThat(vm.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void aGuestResetRunsTheFirmwareAgain() throws Exception {
        try (JhvProcess vm = jhv("-m", "256", "-snapshot", DISK.toString())) {
            vm.awaitLine("JHV-GUEST-READY", BOOT);
            int at = vm.lineCount();
            vm.send("reset\r");
            vm.awaitLine(Pattern.compile("RESETTING"), at, BOOT);
            vm.awaitLine(Pattern.compile("SeaBIOS \\(version "), at, BOOT);
            vm.awaitLine(Pattern.compile("JHV-GUEST-READY cpus=1 mem=256"), at, BOOT);
        }
    }

    @Test
    void interfacesNotBuiltAreRefusedByName() throws Exception {
        try (JhvProcess vm = jhv("-drive", "file=" + DISK + ",if=scsi,snapshot=on")) {
            assertThat(vm.awaitExit(BOOT)).isEqualTo(1);
            assertThat(String.join("\n", vm.stderr())).contains("if=scsi is not supported by jhv yet");
        }
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
