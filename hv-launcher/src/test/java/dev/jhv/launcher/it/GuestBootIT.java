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
}
