package dev.jhv.core.acpi;

import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.cpuid.Topology;
import dev.jhv.core.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class PciHostAmlTest {
    static final PciWindows WINDOWS = new PciWindows(0xE000_0000L, 0x1_0000_0000L, 0x8000_0000L);

    @TempDir
    Path dir;
    Arena arena;
    MemoryMap map;
    GuestMemory mem;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        map = new MemoryMap(4 * MemoryMap.MIB);
        mem = new GuestMemory(List.of(new GuestMemory.Region(0, arena.allocate(map.lowMemoryEnd(), 4096))));
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    @Test
    void swizzleIsPiixs() {
        // Slot s pin p drives PIRQ (s - 1 + p) mod 4 (A = 0).
        assertThat(PciHostAml.pirq(1, 0)).isZero();
        assertThat(PciHostAml.pirq(2, 0)).isEqualTo(1);
        assertThat(PciHostAml.pirq(3, 0)).isEqualTo(2);
        assertThat(PciHostAml.pirq(4, 0)).isEqualTo(3);
        assertThat(PciHostAml.pirq(0, 0)).isEqualTo(3);
        assertThat(PciHostAml.pirq(2, 3)).isEqualTo(0);
        assertThat(PciHostAml.pirq(31, 1)).isEqualTo(3);
        assertThat(PciHostAml.link(1, 0)).as("the PM function's SCI").isEqualTo("LNKS");
        assertThat(PciHostAml.link(1, 1)).isEqualTo("LNKB");
        assertThat(PciHostAml.link(2, 0)).isEqualTo("LNKB");
        assertThat(PciHostAml.link(5, 0)).isEqualTo("LNKA");
    }

    @Test
    void prtEntryEncoding() {
        byte[] prt = PciHostAml.prt();
        // Package (0x80), two-byte PkgLength, then slot 0 pin A: Package (4) { 0xFFFF, Zero, LNKD, Zero }.
        assertThat(prt[0]).isEqualTo((byte) 0x12);
        assertThat(prt[1] & 0xC0).isEqualTo(0x40);
        assertThat(prt[3] & 0xFF).isEqualTo(128);
        byte[] first = Arrays.copyOfRange(prt, 4, 4 + 12);
        assertThat(first).isEqualTo(AmlTest.b(0x12, 0x0B, 0x04, 0x0B, 0xFF, 0xFF, 0x00, 'L', 'N', 'K', 'D', 0x00));
    }

    @Test
    void crsHasTheWindowsAndNo64BitOneWhenNotGiven() {
        byte[] with = PciHostAml.crs(WINDOWS);
        byte[] without = PciHostAml.crs(PciWindows.below4g(0xC000_0000L));
        byte[] q = Aml.qwordMemory(Aml.Cacheability.CACHEABLE, 0x1_0000_0000L, 0x1_7FFF_FFFFL);
        assertThat(indexOf(with, q)).isPositive();
        assertThat(indexOf(without, new byte[] {(byte) 0x8A, 0x2B, 0x00})).isNegative();
        assertThat(indexOf(without, Aml.dwordMemory(Aml.Cacheability.NON_CACHEABLE, 0xC000_0000L, 0xFEBF_FFFFL)))
                .isPositive();
        assertThatThrownBy(() -> PciWindows.below4g(0xFEC0_0000L)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PciWindows(0xE000_0000L, 0x8000_0000L, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PciWindows(0xE000_0000L, -4096, 8192))
                .isInstanceOf(IllegalArgumentException.class);
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static String sha256(byte[] b) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /**
     * Without a PCI bus the tables are what they were before PciWindows existed: these digests are of the
     * tables that code wrote. A deliberate change to the no-PCI tables updates them.
     */
    @Test
    void withoutPciTheTablesAreUnchanged() throws NoSuchAlgorithmException {
        var topo = new Topology(2, 3, 2);
        int[] ids = new int[10];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = topo.apicId(i);
        }
        assertThat(sha256(AcpiTables.dsdt(4))).isEqualTo(NO_PCI_DSDT4);
        assertThat(sha256(AcpiTables.madt(ids))).isEqualTo(NO_PCI_MADT10);
        assertThat(AcpiTables.dsdt(4, null)).isEqualTo(AcpiTables.dsdt(4));
        assertThat(AcpiTables.madt(ids, false)).isEqualTo(AcpiTables.madt(ids));
    }

    static final String NO_PCI_DSDT4 = "b919c3e755fde2ffb7e8043f7fcc1d68af4b0c13965aea61ebdeaa9960eafd01";
    static final String NO_PCI_MADT10 = "bd0bb663038c5c7532adfeadd6e588829c7d2d87e4e0aebf55048b19ddb412ad";

    @Test
    void madtWithPciHasQemuPcsOverrides() {
        byte[] madt = AcpiTables.madt(new int[] {0, 1}, true);
        var isos = new java.util.ArrayList<byte[]>();
        for (int p = 44; p < madt.length; p += madt[p + 1] & 0xFF) {
            if (madt[p] == AcpiTables.MADT_ISO) {
                isos.add(Arrays.copyOfRange(madt, p, p + 10));
            }
        }
        // type, length, bus ISA, source IRQ, GSI (4), flags (2)
        assertThat(isos).hasSize(5);
        assertThat(isos.get(0)).isEqualTo(AmlTest.b(2, 10, 0, 0, 2, 0, 0, 0, 0x00, 0x00));
        int[] level = {5, 9, 10, 11};
        for (int i = 0; i < level.length; i++) {
            assertThat(isos.get(i + 1)).as("IRQ " + level[i] + " level, active high")
                    .isEqualTo(AmlTest.b(2, 10, 0, level[i], level[i], 0, 0, 0, 0x0D, 0x00));
        }
    }

    @Test
    void dsdtWithPciPutsTheLegacyDevicesUnderTheIsaBridge() {
        var l = AcpiTables.layout(mem, map, Topology.of(2), 2, WINDOWS);
        byte[] dsdt = mem.read(l.dsdt(), mem.readInt(l.dsdt() + 4));
        String text = new String(dsdt, StandardCharsets.ISO_8859_1);
        int isaAt = text.indexOf("ISA_\u0008_ADR");
        assertThat(isaAt).isPositive();
        assertThat(text.indexOf("COM1")).isGreaterThan(isaAt);
        assertThat(text.indexOf("RTC_")).isLessThan(text.indexOf("LNKA\u0008_HID"));
        assertThat(text).contains("PCI0", "LNKS");
        // Without PCI: no PCI0, the legacy devices right under \_SB as before.
        byte[] plain = AcpiTables.dsdt(2);
        assertThat(new String(plain, StandardCharsets.ISO_8859_1)).doesNotContain("PCI0").contains("COM1");
    }

    // ---- the real ACPICA tools ----

    Path run(String log, String... cmd) throws IOException, InterruptedException {
        var p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve(log + ".log").toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(String.join(" ", cmd)).isTrue();
        String out = Files.readString(dir.resolve(log + ".log"));
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ":\n" + out).isZero();
        assertThat(out).as(String.join(" ", cmd)).doesNotContain("Error ")
                .doesNotContainIgnoringCase("checksum is incorrect");
        return dir.resolve(log + ".log");
    }

    static final Pattern PRT_ENTRY = Pattern.compile(
            "Package \\(0x04\\)\\s*\\{\\s*(0x[0-9A-F]+),\\s*(Zero|One|0x02|0x03),\\s*(\\w{4}),\\s*Zero\\s*\\}");

    static int pinOf(String s) {
        return switch (s) {
            case "Zero" -> 0;
            case "One" -> 1;
            default -> Integer.decode(s);
        };
    }

    @Test
    void iaslDisassemblesAndRecompilesTheDsdtToTheSameAml() throws IOException, InterruptedException {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/iasl")), "iasl (acpica-tools) not installed: skipped");
        byte[] dsdt = AcpiTables.dsdt(2, WINDOWS);
        Files.write(dir.resolve("dsdt.dat"), dsdt);
        run("dis", "iasl", "-d", "dsdt.dat");
        String dsl = Files.readString(dir.resolve("dsdt.dsl"));
        assertThat(dsl).contains("Device (PCI0)", "EisaId (\"PNP0A03\")", "Device (ISA)", "Name (_ADR, 0x00010000)",
                "OperationRegion (PIRQ, PCI_Config, 0x60, 0x04)",
                "Field (PIRQ, ByteAcc, NoLock, Preserve)",
                "Name (_PRT, Package (0x80)",
                "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode",
                "0x00000CF7,         // Range Maximum", "0x00000D00,         // Range Minimum",
                "0x000A0000,         // Range Minimum", "0x000BFFFF,         // Range Maximum",
                "0xE0000000,         // Range Minimum", "0xFEBFFFFF,         // Range Maximum",
                "0x0000000100000000, // Range Minimum", "0x000000017FFFFFFF, // Range Maximum");
        // Legacy devices now live in the ISA bridge: they come after it and before the links.
        assertThat(dsl.indexOf("Device (COM1)")).isGreaterThan(dsl.indexOf("Device (ISA)"));
        assertThat(dsl.indexOf("Device (RTC)")).isLessThan(dsl.indexOf("Device (LNKA)"));

        var m = PRT_ENTRY.matcher(dsl);
        String[][] route = new String[32][4];
        int n = 0;
        while (m.find()) {
            long adr = Long.decode(m.group(1));
            assertThat(adr & 0xFFFF).as("any function").isEqualTo(0xFFFF);
            route[(int) (adr >>> 16)][pinOf(m.group(2))] = m.group(3);
            n++;
        }
        assertThat(n).isEqualTo(128);
        for (int slot = 0; slot < 32; slot++) {
            for (int pin = 0; pin < 4; pin++) {
                String want = slot == 1 && pin == 0 ? "LNKS" : "LNK" + (char) ('A' + ((slot - 1 + pin) & 3));
                assertThat(route[slot][pin]).as("slot %d pin %c", slot, 'A' + pin).isEqualTo(want);
            }
        }
        assertThat(route[2][0]).isEqualTo("LNKB");
        assertThat(route[1][1]).isEqualTo("LNKB");
        assertThat(route[3][0]).isEqualTo("LNKC");

        for (String link : List.of("LNKA", "LNKB", "LNKC", "LNKD", "LNKS")) {
            int at = dsl.indexOf("Device (" + link + ")");
            assertThat(at).as(link).isPositive();
            int end = dsl.indexOf("Device (", at + 1);
            String body = dsl.substring(at, end < 0 ? dsl.length() : end);
            assertThat(body).as(link).contains("EisaId (\"PNP0C0F\")", "_UID", "_PRS", "_CRS", "Method (_SRS, 1",
                    "Method (_DIS", "Method (_STA", "Interrupt (ResourceConsumer, Level, ActiveHigh, Shared");
        }
        assertThat(dsl).containsPattern("Device \\(LNKA\\)[\\s\\S]*0x00000005,\\s*0x0000000A,\\s*0x0000000B,");

        // -oa: no optimisations, so what iasl compiles from its own disassembly is byte for byte ours.
        Files.delete(dir.resolve("dsdt.dat"));
        run("asl", "iasl", "-oa", "dsdt.dsl");
        byte[] again = Files.readAllBytes(dir.resolve("dsdt.aml"));
        assertThat(Arrays.copyOfRange(again, TableWriter.HEADER_SIZE, again.length))
                .as("AML body recompiled by iasl").isEqualTo(Arrays.copyOfRange(dsdt, TableWriter.HEADER_SIZE,
                        dsdt.length));
        assertThat(Files.readString(dir.resolve("dis.log"))).doesNotContain("Error");
    }

    @Test
    void iaslDisassemblesTheMadtWithPci() throws IOException, InterruptedException {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/iasl")), "iasl (acpica-tools) not installed: skipped");
        Files.write(dir.resolve("apic.dat"), AcpiTables.madt(new int[] {0, 1}, true));
        run("apic", "iasl", "-d", "apic.dat");
        String dsl = Files.readString(dir.resolve("apic.dsl"));
        assertThat(Pattern.compile("Interrupt Source Override").matcher(dsl).results().count()).isEqualTo(5);
        assertThat(dsl).containsPattern("Source : 0B[\\s\\S]*?Interrupt : 0000000B[\\s\\S]*?Polarity : 1"
                + "[\\s\\S]*?Trigger Mode : 3");
    }

    /**
     * ACPICA's own interpreter runs the link methods over its simulated PCI config space (all zeros at first:
     * PIRQ A routed to IRQ 0, "enabled"): _DIS sets bit 7, _SRS stores the IRQ and enables, _CRS reads it back.
     */
    @Test
    void acpiexecRunsTheLinkMethodsOverThePirqrcBytes() throws IOException, InterruptedException {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/acpiexec")), "acpiexec (acpica-tools) not installed: skipped");
        Files.write(dir.resolve("dsdt.dat"), AcpiTables.dsdt(1, WINDOWS));
        Files.writeString(dir.resolve("cmds"), String.join("\n",
                "evaluate \\_SB.LNKB._DIS",
                "evaluate \\_SB.LNKB._STA",
                "evaluate \\_SB.LNKB._CRS",
                "evaluate \\_SB.LNKB._SRS (89 06 00 09 01 0B 00 00 00 79 00)",
                "evaluate \\_SB.PCI0.ISA.PRQB",
                "evaluate \\_SB.LNKB._STA",
                "evaluate \\_SB.LNKB._CRS",
                "evaluate \\_SB.PCI0.ISA.PRQA",
                "evaluate \\_SB.LNKS._CRS",
                "quit", ""));
        var p = new ProcessBuilder("acpiexec", "-di", "dsdt.dat").directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(dir.resolve("cmds").toFile()).redirectOutput(dir.resolve("exec.log").toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String log = Files.readString(dir.resolve("exec.log"));
        var results = Pattern.compile("(?m)^- evaluate (\\S+)[\\s\\S]*?(?:\\[Integer\\] = ([0-9A-F]+)|"
                + "\\[Buffer\\] Length \\w+ =\\s+0000: ([0-9A-F ]+?)\\s{2,}|No object was returned)")
                .matcher(log).results().map(r -> r.group(2) != null ? Long.parseLong(r.group(2), 16) + ""
                        : r.group(3) != null ? r.group(3).trim() : "-").toList();
        assertThat(log).doesNotContain("AE_", "Error");
        assertThat(results).as(log).containsExactly(
                "-", "9", "89 06 00 09 01 00 00 00 00 79 00",   // disabled: status without "enabled", IRQ 0
                "-", "11", "11", "89 06 00 09 01 0B 00 00 00 79 00", // _SRS wrote 11 and cleared bit 7
                "0",                                              // the other PIRQs untouched
                "89 06 00 09 01 09 00 00 00 79 00");              // the SCI link: IRQ 9
    }
}
