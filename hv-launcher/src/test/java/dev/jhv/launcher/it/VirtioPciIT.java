package dev.jhv.launcher.it;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The virtio-pci transport as SeaBIOS and the monitor see it, with virtio-rng as the device: QEMU's identity and
 * BAR layout, placed by addr=, refused on a taken slot with QEMU's message, and carried through savevm/loadvm.
 */
@Tag("kvm")
class VirtioPciIT {
    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvmFirmwareAndMedia() {
        FirmwareBootIT.needKvmFirmwareAndMedia();
    }

    /** What QEMU 7.2's `info pci` shows for -device virtio-rng-pci,addr=5 after SeaBIOS (addresses aside). */
    private static final Pattern RNG = Pattern.compile("""
              Bus  0, device   5, function 0:
                Class 0255: PCI device 1af4:1005
                  PCI subsystem 1af4:0004
                  IRQ (10|11), pin A
                  BAR0: I/O at 0x[0-9a-f]{4} \\[0x[0-9a-f]{3}f\\]\\.
                  BAR1: 32 bit memory at 0x[0-9a-f]{5}000 \\[0x[0-9a-f]{5}fff\\]\\.
                  BAR4: 64 bit prefetchable memory at 0x[0-9a-f]+ \\[0x[0-9a-f]+\\]\\.
                  id ""
            """);

    @Test
    void seaBiosPlacesTheBarsAndTheDeviceSurvivesSavevmAndLoadvm() throws Exception {
        Path disk = tmp.resolve("disk.qcow2");
        Files.copy(FirmwareBootIT.DISK, disk, StandardCopyOption.REPLACE_EXISTING);
        Path sock = tmp.resolve("mon.sock");
        try (JhvProcess vm = FirmwareBootIT.jhv(FirmwareBootIT.concat(new String[] {"-m", "256", disk.toString(),
                        "-device", "virtio-rng-pci,addr=5", "-monitor", "unix:" + sock + ",server,nowait"},
                FirmwareBootIT.cmdline("mode=idle")));
             MonitorClient mon = MonitorClient.connect(sock, FirmwareBootIT.BOOT)) {
            vm.awaitLine("JHV-GUEST-READY", FirmwareBootIT.BOOT);
            String pci = mon.command("info pci");
            assertThat(pci).containsPattern(RNG);
            assertThat(sizes(pci)).as("BAR sizes as QEMU's: 0x20 I/O, 0x1000 MSI-X, 0x4000 modern")
                    .isEqualTo("0x20 0x1000 0x4000");
            assertThat(mon.command("savevm withrng")).isBlank();
            assertThat(mon.command("loadvm withrng")).isBlank();
            assertThat(mon.command("info status")).contains("VM status: running");
            assertThat(mon.command("info pci")).as("the same after the load").isEqualTo(pci);
            int at = vm.lineCount();
            vm.send("ping\r");
            vm.awaitLine(Pattern.compile("PONG"), at, FirmwareBootIT.BOOT);
            mon.send("quit");
            assertThat(vm.awaitExit(FirmwareBootIT.BOOT)).isZero();
        }
        assertThat(JhvProcess.runTool("qemu-img", "snapshot", "-l", disk.toString())).contains("withrng");
    }

    /** "0x20 0x1000 0x4000": the sizes of the rng's BAR0, BAR1 and BAR4 from their [first, last] ranges. */
    private static String sizes(String pci) {
        var m = Pattern.compile("device   5, function 0:(?s).*?BAR0: I/O at (0x\\w+) \\[(0x\\w+)\\].*?"
                + "BAR1: 32 bit memory at (0x\\w+) \\[(0x\\w+)\\].*?BAR4: 64 bit prefetchable memory at (0x\\w+) "
                + "\\[(0x\\w+)\\]").matcher(pci);
        assertThat(m.find()).isTrue();
        StringBuilder out = new StringBuilder();
        for (int g = 1; g <= 5; g += 2) {
            long size = Long.decode(m.group(g + 1)) - Long.decode(m.group(g)) + 1;
            out.append(out.isEmpty() ? "" : " ").append("0x").append(Long.toHexString(size));
        }
        return out.toString();
    }

    /**
     * A guest driving the device: a firmware of our own (src/test/resources/virtio/rng-legacy.S, built here with
     * binutils) sets up the legacy interface, notifies through BAR0 (an ioeventfd), waits for the used ring and
     * exits with the ISR and whether the buffer was filled. 7 is both.
     */
    @Test
    void aLegacyDriverInTheGuestGetsRandomBytesAndAQueueInterrupt() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/as")),
                "binutils missing: the test's firmware is assembled with as and ld");
        Path source = tmp.resolve("rng-legacy.S");
        try (var in = VirtioPciIT.class.getResourceAsStream("/virtio/rng-legacy.S")) {
            Files.copy(in, source);
        }
        Path object = tmp.resolve("rng.o");
        Path code = tmp.resolve("rng.bin");
        JhvProcess.runTool("as", "--32", "-o", object.toString(), source.toString());
        JhvProcess.runTool("ld", "-m", "elf_i386", "-Ttext=0", "--oformat", "binary", "-o", code.toString(),
                object.toString());
        // 128 KiB of ROM: the code at F000:0000, the reset vector (F000:FFF0) a far jump to it
        byte[] rom = new byte[128 * 1024];
        java.util.Arrays.fill(rom, (byte) 0xff);
        byte[] text = Files.readAllBytes(code);
        System.arraycopy(text, 0, rom, 0x10000, text.length);
        byte[] jump = {(byte) 0xea, 0, 0, 0, (byte) 0xf0};
        System.arraycopy(jump, 0, rom, 0x1fff0, jump.length);
        Path bios = tmp.resolve("rng-rom.bin");
        Files.write(bios, rom);
        try (JhvProcess vm = FirmwareBootIT.jhv("-bios", bios.toString(), "-m", "128", "-device",
                "virtio-rng-pci,addr=5", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-monitor", "none")) {
            assertThat(vm.awaitExit(FirmwareBootIT.BOOT)).as("(ISR 1 + buffer filled 2) << 1 | 1").isEqualTo(7);
        }
    }

    @Test
    void aTakenSlotIsRefusedWithQemusMessage() throws Exception {
        try (JhvProcess vm = FirmwareBootIT.jhv("-m", "128", "-snapshot", FirmwareBootIT.DISK.toString(),
                "-device", "virtio-rng-pci,addr=1", "-monitor", "none")) {
            assertThat(vm.awaitExit(FirmwareBootIT.BOOT)).isNotZero();
            assertThat(String.join("\n", vm.stderr()))
                    .contains("PCI: slot 1 function 0 not available for virtio-rng-pci, in use by PIIX3");
        }
    }
}
