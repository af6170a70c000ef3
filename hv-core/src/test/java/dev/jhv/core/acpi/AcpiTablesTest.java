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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class AcpiTablesTest {
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

    String sig(long addr) {
        return new String(mem.read(addr, 4), StandardCharsets.US_ASCII);
    }

    int sum(long addr, int len) {
        int s = 0;
        for (byte x : mem.read(addr, len)) {
            s += x;
        }
        return s & 0xFF;
    }

    /** The RSDP a legacy scan of the BIOS area finds: signature on a 16-byte boundary with a good checksum. */
    long scanForRsdp() {
        for (long a = 0xE0000; a < 0x100000; a += 16) {
            if (new String(mem.read(a, 8), StandardCharsets.US_ASCII).equals("RSD PTR ") && sum(a, 20) == 0) {
                return a;
            }
        }
        return -1;
    }

    /** Tables by signature, reached from the RSDP through the XSDT, each checked for length and checksum. */
    Map<String, Long> walk(long rsdp) {
        assertThat(sum(rsdp, 20)).isZero();
        assertThat(mem.readByte(rsdp + 15)).as("RSDP revision").isEqualTo(2);
        assertThat(mem.readInt(rsdp + 20)).as("RSDP length").isEqualTo(36);
        assertThat(sum(rsdp, 36)).as("extended checksum").isZero();
        long xsdt = mem.readLong(rsdp + 24);
        long rsdt = Integer.toUnsignedLong(mem.readInt(rsdp + 16));
        assertThat(sig(xsdt)).isEqualTo("XSDT");
        assertThat(sig(rsdt)).isEqualTo("RSDT");
        int xlen = mem.readInt(xsdt + 4);
        assertThat(sum(xsdt, xlen)).isZero();
        assertThat(sum(rsdt, mem.readInt(rsdt + 4))).isZero();
        assertThat((xlen - 36) % 8).isZero();
        assertThat(mem.readInt(rsdt + 4) - 36).isEqualTo((xlen - 36) / 2);
        var out = new HashMap<String, Long>();
        for (int i = 0; i < (xlen - 36) / 8; i++) {
            long t = mem.readLong(xsdt + 36 + 8L * i);
            assertThat(Integer.toUnsignedLong(mem.readInt(rsdt + 36 + 4L * i))).isEqualTo(t);
            int len = mem.readInt(t + 4);
            assertThat(sum(t, len)).as(sig(t) + " checksum").isZero();
            assertThat(t + len).isLessThanOrEqualTo(0x100000);
            out.put(sig(t), t);
        }
        return out;
    }

    @Test
    void rsdpIsFoundByScanAndEveryTableChecksums() {
        long rsdp = AcpiTables.build(mem, map, Topology.of(2), 2);
        assertThat(rsdp % 16).isZero();
        assertThat(rsdp).isBetween(0xE0000L, 0xFFFFFL);
        assertThat(scanForRsdp()).isEqualTo(rsdp);
        var tables = walk(rsdp);
        assertThat(tables).containsOnlyKeys("FACP", "APIC");
        long fadt = tables.get("FACP");
        long dsdt = mem.readLong(fadt + 140);
        assertThat(sig(dsdt)).isEqualTo("DSDT");
        assertThat(sum(dsdt, mem.readInt(dsdt + 4))).isZero();
        // Only one of FIRMWARE_CTRL / X_FIRMWARE_CTRL may be set, or Linux lists the FACS twice.
        assertThat(mem.readLong(fadt + 132)).isZero();
        long facs = Integer.toUnsignedLong(mem.readInt(fadt + 36));
        assertThat(sig(facs)).isEqualTo("FACS");
        assertThat(mem.readInt(facs + 4)).isEqualTo(64);
        assertThat(facs % 64).isZero();
    }

    @Test
    void fadtDescribesThePmBlockResetAndFlags() {
        long fadt = walk(AcpiTables.build(mem, map, Topology.of(1), 1)).get("FACP");
        assertThat(mem.readInt(fadt + 4)).isEqualTo(276);
        assertThat(mem.readByte(fadt + 8)).isEqualTo(6);
        long dsdt = Integer.toUnsignedLong(mem.readInt(fadt + 40));
        assertThat(mem.readLong(fadt + 140)).isEqualTo(dsdt);
        assertThat(Integer.toUnsignedLong(mem.readInt(fadt + 36))).isNotZero();
        assertThat(mem.readShort(fadt + 46)).as("SCI_INT").isEqualTo(9);
        assertThat(mem.readInt(fadt + 48)).as("SMI_CMD").isZero();
        assertThat(mem.readInt(fadt + 56)).isEqualTo(0x600);
        assertThat(mem.readInt(fadt + 64)).isEqualTo(0x604);
        assertThat(mem.readInt(fadt + 76)).isEqualTo(0x608);
        assertThat(mem.readByte(fadt + 88)).isEqualTo(4);
        assertThat(mem.readByte(fadt + 89)).isEqualTo(2);
        assertThat(mem.readByte(fadt + 91)).isEqualTo(4);
        assertThat(mem.readShort(fadt + 109) & 3).as("legacy devices and 8042").isEqualTo(3);
        int flags = mem.readInt(fadt + 112);
        assertThat(flags & AcpiTables.F_WBINVD).isNotZero();
        assertThat(flags & AcpiTables.F_PROC_C1).isNotZero();
        assertThat(flags & AcpiTables.F_SLP_BUTTON).isNotZero();
        assertThat(flags & AcpiTables.F_RESET_REG_SUP).isNotZero();
        assertThat(flags & AcpiTables.F_PWR_BUTTON).as("power button is a fixed feature").isZero();
        assertThat(flags & AcpiTables.F_HW_REDUCED_ACPI).isZero();
        // RESET_REG: system I/O, 8 bits, port 0xCF9, value 6.
        assertThat(mem.readByte(fadt + 116)).isEqualTo(1);
        assertThat(mem.readByte(fadt + 117)).isEqualTo(8);
        assertThat(mem.readLong(fadt + 120)).isEqualTo(0xCF9);
        assertThat(mem.readByte(fadt + 128)).isEqualTo(6);
        // X_ blocks agree with the legacy ones.
        assertGas(fadt + 148, 32, 0x600);
        assertGas(fadt + 172, 16, 0x604);
        assertGas(fadt + 208, 32, 0x608);
        assertThat(mem.readLong(fadt + 160 + 4)).as("X_PM1b_EVT_BLK").isZero();
    }

    void assertGas(long at, int bits, long address) {
        assertThat(mem.readByte(at)).as("system I/O").isEqualTo(1);
        assertThat(mem.readByte(at + 1)).isEqualTo(bits);
        assertThat(mem.readLong(at + 4)).isEqualTo(address);
    }

    record MadtEntry(int type, byte[] body) { }

    List<MadtEntry> madtEntries(long madt) {
        int len = mem.readInt(madt + 4);
        var out = new ArrayList<MadtEntry>();
        long p = madt + 44;
        while (p < madt + len) {
            int type = mem.readByte(p);
            int elen = mem.readByte(p + 1);
            assertThat(elen).isGreaterThanOrEqualTo(2);
            out.add(new MadtEntry(type, mem.read(p, elen)));
            p += elen;
        }
        assertThat(p).as("entries end exactly at the table's length").isEqualTo(madt + len);
        return out;
    }

    static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    static int u16(byte[] b, int i) {
        return u8(b, i) | u8(b, i + 1) << 8;
    }

    static long u32(byte[] b, int i) {
        return (u16(b, i) | (long) u16(b, i + 2) << 16);
    }

    @Test
    void madtHasOneLapicPerCpuWithTopologyApicIdsAndTheIoapic() {
        var topo = new Topology(2, 3, 2); // 3 cores take 2 bits: APIC ids have gaps
        int cpus = 10;
        long madt = walk(AcpiTables.build(mem, map, topo, cpus)).get("APIC");
        assertThat(Integer.toUnsignedLong(mem.readInt(madt + 36))).isEqualTo(0xFEE00000L);
        assertThat(mem.readInt(madt + 40) & 1).as("PCAT_COMPAT").isOne();
        var entries = madtEntries(madt);
        var lapics = entries.stream().filter(e -> e.type() == 0).toList();
        assertThat(lapics).hasSize(cpus);
        for (int i = 0; i < cpus; i++) {
            byte[] b = lapics.get(i).body();
            assertThat(u8(b, 1)).isEqualTo(8);
            assertThat(u8(b, 2)).as("processor uid").isEqualTo(i);
            assertThat(u8(b, 3)).as("APIC id").isEqualTo(topo.apicId(i));
            assertThat(u32(b, 4) & 1).as("enabled").isOne();
        }
        // socket 1, core 0, thread 0 is APIC id 8 (1 thread bit + 2 core bits).
        assertThat(u8(lapics.get(6).body(), 3)).isEqualTo(8);
        var ioapic = entries.stream().filter(e -> e.type() == 1).toList();
        assertThat(ioapic).hasSize(1);
        assertThat(u8(ioapic.getFirst().body(), 2)).isEqualTo(cpus);
        assertThat(u32(ioapic.getFirst().body(), 4)).isEqualTo(0xFEC00000L);
        assertThat(u32(ioapic.getFirst().body(), 8)).isZero();
        var isos = entries.stream().filter(e -> e.type() == 2).toList();
        assertThat(isos).hasSize(2);
        byte[] pit = isos.get(0).body();
        assertThat(u8(pit, 3)).isEqualTo(0);
        assertThat(u32(pit, 4)).isEqualTo(2);
        assertThat(u16(pit, 8) & 0xC).as("edge").isEqualTo(0x4);
        byte[] sci = isos.get(1).body();
        assertThat(u8(sci, 3)).isEqualTo(9);
        assertThat(u32(sci, 4)).isEqualTo(9);
        assertThat(u16(sci, 8)).as("level, active high").isEqualTo(0xD);
        var nmi = entries.stream().filter(e -> e.type() == 4).toList();
        assertThat(nmi).hasSize(1);
        assertThat(u8(nmi.getFirst().body(), 2)).isEqualTo(0xFF);
        assertThat(u8(nmi.getFirst().body(), 5)).as("LINT1").isEqualTo(1);
    }

    @Test
    void largeApicIdsUseX2apicEntries() {
        var topo = new Topology(2, 128, 2); // second socket starts at APIC id 256
        int cpus = 260;
        long madt = walk(AcpiTables.build(mem, map, topo, cpus)).get("APIC");
        var entries = madtEntries(madt);
        var x2 = entries.stream().filter(e -> e.type() == 9).toList();
        assertThat(entries.stream().filter(e -> e.type() == 0)).hasSize(255 - 1 + 1);
        assertThat(x2).hasSize(cpus - 255);
        assertThat(u32(x2.getFirst().body(), 4)).isEqualTo(topo.apicId(255));
        assertThat(u32(x2.getFirst().body(), 12)).as("uid").isEqualTo(255);
        assertThat(entries.stream().filter(e -> e.type() == 10)).hasSize(1);
    }

    @Test
    void dsdtDefinesS5AsSoftOff() {
        var l = AcpiTables.layout(mem, map, Topology.of(4), 4);
        int len = mem.readInt(l.dsdt() + 4);
        byte[] dsdt = mem.read(l.dsdt(), len);
        assertThat(u8(dsdt, 8)).as("revision 2: 64-bit integers").isEqualTo(2);
        byte[] s5 = {0x08, 0x5C, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0};
        assertThat(java.util.Arrays.copyOfRange(dsdt, 36, 36 + s5.length)).isEqualTo(s5);
        String text = new String(dsdt, StandardCharsets.ISO_8859_1);
        assertThat(text).contains("COM1", "C000", "C003", "ACPI0007").doesNotContain("C004");
    }

    @Test
    void iaslDisassemblesEveryTable() throws IOException, InterruptedException {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/iasl")), "iasl (acpica-tools) not installed");
        var l = AcpiTables.layout(mem, map, new Topology(1, 2, 2), 4);
        for (var t : List.of(l.fadt(), l.dsdt(), l.madt(), l.xsdt(), l.facs())) {
            String s = sig(t);
            Files.write(dir.resolve(s.toLowerCase() + ".dat"), mem.read(t, mem.readInt(t + 4)));
        }
        for (String name : List.of("facp", "dsdt", "apic", "xsdt", "facs")) {
            var p = new ProcessBuilder("iasl", "-d", name + ".dat").directory(dir.toFile())
                    .redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String log = Files.readString(dir.resolve(name + ".log"));
            assertThat(p.exitValue()).as(name + ": " + log).isZero();
            assertThat(log).as(name).doesNotContainIgnoringCase("checksum is incorrect")
                    .doesNotContain("Error");
        }
        String dsl = Files.readString(dir.resolve("dsdt.dsl"));
        assertThat(dsl).contains("Name (\\_S5, Package (0x04)").contains("EisaId (\"PNP0501\")")
                .contains("IO (Decode16,").contains("IRQNoFlags ()").contains("Device (C003)");
        String facp = Files.readString(dir.resolve("facp.dsl"));
        assertThat(facp).contains("SCI Interrupt : 0009").containsPattern("Reset Register[\\s\\S]*0000000000000CF9");
        String apic = Files.readString(dir.resolve("apic.dsl"));
        assertThat(apic).contains("I/O APIC").contains("Interrupt Source Override").contains("Local APIC NMI");
    }
}
