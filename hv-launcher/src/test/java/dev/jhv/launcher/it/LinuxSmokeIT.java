package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Debian's own vmlinux through the PVH entry. KVM here emulates CPL 0, so Linux only gets through its early
 * boot; that is where the e820 map, the ACPI tables and the CPU count are printed.
 */
@Tag("kvm")
@Tag("slow")
class LinuxSmokeIT {
    static final Path VMLINUX = JhvProcess.ROOT.resolve("guest-images/out/vmlinux");
    static final Duration EARLY_BOOT = Duration.ofSeconds(240);

    @Test
    void debianKernelSeesOurE820AcpiTablesAndCpus() throws Exception {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        assertThat(VMLINUX).as("guest-images/build extracts Debian's vmlinux").exists();
        try (JhvProcess jhv = JhvProcess.start("-kernel", VMLINUX.toString(), "-m", "512", "-smp", "2",
                "-append", "earlyprintk=serial,ttyS0,115200 console=ttyS0 noapictimer", "-display", "none",
                "-serial", "stdio")) {
            jhv.awaitLine("BIOS-e820: \\[mem 0x0000000000000000-0x000000000009fbff\\] usable", EARLY_BOOT);
            jhv.awaitLine("BIOS-e820: \\[mem 0x0000000000100000-0x000000001fffffff\\] usable", EARLY_BOOT);
            jhv.awaitLine(Pattern.compile("ACPI: RSDP 0x"), 0, EARLY_BOOT);
            jhv.awaitLine(Pattern.compile("ACPI: APIC 0x"), 0, EARLY_BOOT);
            jhv.awaitLine(Pattern.compile("ACPI: FACP 0x"), 0, EARLY_BOOT);
            jhv.awaitLine(Pattern.compile("Allowing 2 CPUs"), 0, EARLY_BOOT);
        }
        assertThat(Files.size(VMLINUX)).isPositive();
    }
}
