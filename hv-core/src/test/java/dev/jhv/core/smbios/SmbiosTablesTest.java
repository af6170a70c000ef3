package dev.jhv.core.smbios;

import dev.jhv.core.cpuid.Topology;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SmbiosTablesTest {
    private static final Path DMIDECODE = Path.of("/usr/sbin/dmidecode");

    private static SmbiosTables sixGiBTwoSockets() {
        long gib = 1L << 30;
        return SmbiosTables.build(new SmbiosTables.Machine("jhv", "Standard PC (i440FX + PIIX, 1996)", "pc",
                new Topology(2, 2, 1), 4, 0x000663L, 6 * gib,
                List.of(new SmbiosTables.RamRange(0, 3 * gib), new SmbiosTables.RamRange(4 * gib, 3 * gib))));
    }

    @Test
    void entryPointChecksumsAndCountsHold() {
        SmbiosTables t = sixGiBTwoSockets();
        byte[] a = t.anchor();
        assertThat(a).hasSize(31);
        assertThat(new String(a, 0, 4, StandardCharsets.US_ASCII)).isEqualTo("_SM_");
        assertThat(SmbiosTables.checksum(a, 0, 31)).isZero();
        assertThat(SmbiosTables.checksum(a, 0x10, 0x0F)).isZero();
        assertThat((a[0x16] & 0xff) | (a[0x17] & 0xff) << 8).isEqualTo(t.tables().length);
        // 1, 3, two of 4, 16, 17, two of 19, 32, 127
        assertThat((a[0x1C] & 0xff)).isEqualTo(10);
    }

    /** The real dmidecode reads the tables from a dump (entry point at 0, table at 0x20, as --dump-bin writes). */
    @Test
    void dmidecodeReadsTheTables(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(DMIDECODE), "dmidecode is not installed (scripts/install-deps installs it)");
        SmbiosTables t = sixGiBTwoSockets();
        byte[] a = t.anchor().clone();
        a[0x18] = 0x20;
        a[0x15] = 0;
        a[0x15] = SmbiosTables.checksum(a, 0x10, 0x0F);
        a[4] = 0;
        a[4] = SmbiosTables.checksum(a, 0, 31);
        byte[] dump = new byte[0x20 + t.tables().length];
        System.arraycopy(a, 0, dump, 0, a.length);
        System.arraycopy(t.tables(), 0, dump, 0x20, t.tables().length);
        Path file = dir.resolve("smbios.bin");
        Files.write(file, dump);
        String out = run(DMIDECODE.toString(), "--from-dump", file.toString());
        assertThat(out).contains("SMBIOS 2.8 present.", "10 structures occupying " + t.tables().length + " bytes.")
                .contains("Manufacturer: jhv", "Product Name: Standard PC (i440FX + PIIX, 1996)")
                .contains("Socket Designation: CPU 0", "Socket Designation: CPU 1", "Core Count: 2")
                .contains("Maximum Capacity: 6 GB", "Number Of Devices: 1", "Size: 6 GB", "Locator: DIMM 0")
                .contains("Starting Address: 0x00100000000", "Range Size: 3 GB")
                .contains("End Of Table")
                .doesNotContain("Invalid", "Wrong DMI structures", "checksum");
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(text).isZero();
        return text;
    }
}
