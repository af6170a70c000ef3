package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.regex.Matcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Boots the test guest with the real ./jhv and checks what the guest itself reports. */
@Tag("kvm")
class GuestBootIT {
    static final Duration BOOT = Duration.ofSeconds(60);

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    @ParameterizedTest(name = "-smp {0} -m {1}")
    @CsvSource({"1, 256", "2, 256", "2, 4096"})
    void guestReportsTheCpusAndMemoryItWasGiven(int cpus, int mib) throws Exception {
        try (JhvProcess jhv = JhvProcess.boot("mode=poweroff", "-smp", "" + cpus, "-m", "" + mib)) {
            Matcher m = jhv.awaitLine("JHV-GUEST-READY cpus=(\\d+) mem=(\\d+)", BOOT);
            assertThat(Integer.parseInt(m.group(1))).isEqualTo(cpus);
            assertThat(Integer.parseInt(m.group(2))).isEqualTo(mib);
            assertThat(jhv.awaitExit(BOOT)).as("ACPI power-off exits 0").isZero();
        }
    }

    @Test
    void pvhEntryBootsTheElfKernel() throws Exception {
        try (JhvProcess jhv = JhvProcess.start("-kernel", JhvProcess.TESTOS_ELF.toString(), "-append", "mode=poweroff",
                "-smp", "2", "-m", "256", "-display", "none", "-serial", "stdio")) {
            Matcher m = jhv.awaitLine("JHV-GUEST-READY cpus=(\\d+) mem=(\\d+)", BOOT);
            assertThat(m.group(1)).isEqualTo("2");
            assertThat(m.group(2)).isEqualTo("256");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void debugExitPortSetsTheExitStatus() throws Exception {
        try (JhvProcess jhv = JhvProcess.boot("mode=idle exit=0x21", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            assertThat(jhv.awaitExit(BOOT)).isEqualTo((0x21 << 1) | 1);
        }
    }

    @Test
    void guestResetThroughTheI8042RestartsTheMachine() throws Exception {
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-smp", "2")) {
            jhv.awaitLine("JHV-GUEST-READY cpus=2", BOOT);
            int after = jhv.lineCount();
            jhv.send("reset\r");
            jhv.awaitLine(java.util.regex.Pattern.compile("JHV-GUEST-READY cpus=2"), after, BOOT);
            jhv.send("poweroff\r");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void noRebootExitsOnAGuestReset() throws Exception {
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-no-reboot")) {
            jhv.awaitLine("JHV-GUEST-READY", BOOT);
            jhv.send("reset\r");
            jhv.awaitLine("RESETTING", BOOT);
            assertThat(jhv.awaitExit(BOOT)).isZero();
            assertThat(jhv.stdout().stream().filter(l -> l.contains("JHV-GUEST-READY")).count()).isEqualTo(1);
        }
    }

    @Test
    void largeGuestRamCostsNoResidentMemoryUntilTouched() throws Exception {
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-m", "8192")) {
            jhv.awaitLine("JHV-GUEST-READY cpus=1 mem=8192", BOOT);
            long rssKib = residentKib(jhv.pid());
            // The JVM itself takes a couple of hundred MiB at most; 8 GiB of touched RAM would show.
            assertThat(rssKib).isLessThan(1024 * 1024);
            jhv.send("poweroff\r");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    /** VmRSS of the java process under the ./jhv script (exec'd, so the same pid). */
    private static long residentKib(long pid) throws java.io.IOException {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new AssertionError("no VmRSS for " + pid);
    }
}
