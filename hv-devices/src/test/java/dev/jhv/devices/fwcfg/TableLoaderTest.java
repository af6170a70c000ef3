package dev.jhv.devices.fwcfg;

import dev.jhv.core.acpi.AcpiTables;
import dev.jhv.core.acpi.LinkedTables;
import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.cpuid.Topology;
import dev.jhv.core.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TableLoaderTest {
    static final long RAM = 32 * MemoryMap.MIB;
    static final long HIGH = 0x1FE_0000L;
    static final long FSEG = 0xF5A00L;
    static final long SCRATCH = 0x7000;

    Arena arena;
    GuestMemory mem;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        mem = new GuestMemory(List.of(new GuestMemory.Region(0, arena.allocate(RAM, 4096))));
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    static byte[] name56(String s) {
        return Arrays.copyOf(s.getBytes(StandardCharsets.US_ASCII), 56);
    }

    @Test
    void commandsAre128BytesLaidOutAsTheInterfaceSays() {
        byte[] b = new TableLoader()
                .allocate("etc/acpi/tables", 64, TableLoader.Zone.HIGH)
                .allocate("etc/acpi/rsdp", 16, TableLoader.Zone.FSEG)
                .addPointer("etc/acpi/rsdp", "etc/acpi/tables", 24, 8)
                .addChecksum("etc/acpi/rsdp", 32, 0, 36)
                .toBytes();
        assertThat(b).hasSize(4 * 128);
        var c = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(c.getInt(0)).isEqualTo(1);
        assertThat(Arrays.copyOfRange(b, 4, 60)).isEqualTo(name56("etc/acpi/tables"));
        assertThat(c.getInt(60)).isEqualTo(64);
        assertThat(b[64]).isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(b, 65, 128)).isEqualTo(new byte[63]);
        assertThat(c.getInt(128)).isEqualTo(1);
        assertThat(c.getInt(128 + 60)).isEqualTo(16);
        assertThat(b[128 + 64]).as("FSEG").isEqualTo((byte) 2);
        assertThat(c.getInt(256)).isEqualTo(2);
        assertThat(Arrays.copyOfRange(b, 256 + 4, 256 + 60)).isEqualTo(name56("etc/acpi/rsdp"));
        assertThat(Arrays.copyOfRange(b, 256 + 60, 256 + 116)).isEqualTo(name56("etc/acpi/tables"));
        assertThat(c.getInt(256 + 116)).isEqualTo(24);
        assertThat(b[256 + 120]).isEqualTo((byte) 8);
        assertThat(Arrays.copyOfRange(b, 256 + 121, 384)).isEqualTo(new byte[7]);
        assertThat(c.getInt(384)).isEqualTo(3);
        assertThat(Arrays.copyOfRange(b, 384 + 4, 384 + 60)).isEqualTo(name56("etc/acpi/rsdp"));
        assertThat(c.getInt(384 + 60)).isEqualTo(32);
        assertThat(c.getInt(384 + 64)).isZero();
        assertThat(c.getInt(384 + 68)).isEqualTo(36);
    }

    @Test
    void filesMustBeAllocatedBeforeUseAndOnce() {
        var l = new TableLoader().allocate("a", 16, TableLoader.Zone.HIGH);
        assertThatThrownBy(() -> l.addPointer("a", "b", 0, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> l.allocate("a", 16, TableLoader.Zone.HIGH)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> l.allocate("c", 24, TableLoader.Zone.HIGH)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> l.addPointer("a", "a", 0, 3)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void acpiScriptAllocatesTablesHighAndRsdpInFseg() {
        LinkedTables t = AcpiTables.build(Topology.of(2), 2);
        byte[] b = FwCfgAcpi.loader(t).toBytes();
        var c = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.length / 128).isEqualTo(2 + t.pointers().size() + t.checksums().size());
        assertThat(Arrays.copyOfRange(b, 4, 60)).isEqualTo(name56("etc/acpi/tables"));
        assertThat(c.getInt(60)).isEqualTo(64);
        assertThat(b[64]).isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(b, 128 + 4, 128 + 60)).isEqualTo(name56("etc/acpi/rsdp"));
        assertThat(c.getInt(128 + 60)).isEqualTo(16);
        assertThat(b[128 + 64]).isEqualTo((byte) 2);
        // FADT: FACS (32-bit), DSDT (32-bit), X_DSDT (64-bit); XSDT and RSDT two each; RSDP two.
        assertThat(t.pointers()).hasSize(3 + 2 + 2 + 2);
        // Every table with a checksum (all but the FACS), then the RSDP's two.
        assertThat(t.checksums()).hasSize(5 + 2);
    }

    FwCfg firmwareView(LinkedTables t) {
        return FwCfgAcpi.addTo(new FwCfgBuilder(), t).build(mem);
    }

    int sum(long addr, int len) {
        int s = 0;
        for (byte x : mem.read(addr, len)) {
            s += x;
        }
        return s & 0xFF;
    }

    String sig(long addr, int len) {
        return new String(mem.read(addr, len), StandardCharsets.US_ASCII);
    }

    long u32(long addr) {
        return Integer.toUnsignedLong(mem.readInt(addr));
    }

    /** The tables reached from the RSDP the way an OS reaches them, every checksum checked. */
    Map<String, Long> walk(long rsdp) {
        assertThat(sig(rsdp, 8)).isEqualTo("RSD PTR ");
        assertThat(sum(rsdp, 20)).as("RSDP checksum").isZero();
        assertThat(sum(rsdp, 36)).as("RSDP extended checksum").isZero();
        var out = new HashMap<String, Long>();
        long xsdt = mem.readLong(rsdp + 24);
        long rsdt = u32(rsdp + 16);
        out.put("XSDT", xsdt);
        out.put("RSDT", rsdt);
        assertThat(sig(xsdt, 4)).isEqualTo("XSDT");
        assertThat(sig(rsdt, 4)).isEqualTo("RSDT");
        int xlen = mem.readInt(xsdt + 4);
        assertThat(sum(xsdt, xlen)).isZero();
        assertThat(sum(rsdt, mem.readInt(rsdt + 4))).isZero();
        for (int i = 0; i < (xlen - 36) / 8; i++) {
            long table = mem.readLong(xsdt + 36 + 8L * i);
            assertThat(u32(rsdt + 36 + 4L * i)).isEqualTo(table);
            assertThat(sum(table, mem.readInt(table + 4))).as(sig(table, 4) + " checksum").isZero();
            out.put(sig(table, 4), table);
        }
        long fadt = out.get("FACP");
        long dsdt = u32(fadt + 40);
        assertThat(mem.readLong(fadt + 140)).as("X_DSDT").isEqualTo(dsdt);
        assertThat(sig(dsdt, 4)).isEqualTo("DSDT");
        assertThat(sum(dsdt, mem.readInt(dsdt + 4))).isZero();
        out.put("DSDT", dsdt);
        long facs = u32(fadt + 36);
        assertThat(sig(facs, 4)).isEqualTo("FACS");
        assertThat(facs % 64).as("FACS alignment").isZero();
        out.put("FACS", facs);
        return out;
    }

    long scanFseg() {
        for (long a = 0xF0000; a < 0x100000; a += 16) {
            if (sig(a, 8).equals("RSD PTR ") && sum(a, 20) == 0) {
                return a;
            }
        }
        return -1;
    }

    @Test
    void firmwareInstallsTablesWithValidChecksumsAndPointersOnTheirSignatures() {
        LinkedTables t = AcpiTables.build(new Topology(1, 2, 2), 4);
        var loader = new TableLoaderInterpreter(firmwareView(t), mem, HIGH, FSEG, SCRATCH);
        assertThat(loader.run()).isEqualTo(2 + t.pointers().size() + t.checksums().size());
        long tables = loader.allocations.get(FwCfgAcpi.TABLES).address();
        long rsdp = loader.allocations.get(FwCfgAcpi.RSDP).address();
        assertThat(tables).isEqualTo(HIGH);
        assertThat(rsdp % 16).isZero();
        assertThat(scanFseg()).as("the RSDP is where an OS scans").isEqualTo(rsdp);
        var found = walk(rsdp);
        assertThat(found).containsOnlyKeys("XSDT", "RSDT", "FACP", "APIC", "DSDT", "FACS");
        for (var table : t.directory()) {
            assertThat(found.get(table.signature())).as(table.signature())
                    .isEqualTo(tables + table.offset());
        }
    }

    @Test
    void firmwarePlacementEqualsDirectBootPlacementAtTheSameAddresses() {
        var topo = new Topology(2, 3, 2);
        int cpus = 10;
        // Direct kernel boot into a second memory.
        var map = new MemoryMap(RAM);
        var direct = new GuestMemory(List.of(new GuestMemory.Region(0, arena.allocate(RAM, 4096))));
        var layout = AcpiTables.layout(direct, map, topo, cpus);
        LinkedTables t = AcpiTables.build(topo, cpus);
        long tablesAt = layout.facs(); // the FACS opens the tables blob
        var loader = new TableLoaderInterpreter(firmwareView(t), mem, tablesAt, layout.rsdp(), SCRATCH);
        loader.run();
        assertThat(loader.allocations.get(FwCfgAcpi.RSDP).address()).isEqualTo(layout.rsdp());
        assertThat(loader.allocations.get(FwCfgAcpi.TABLES).address()).isEqualTo(tablesAt);
        int n = (int) (layout.end() - layout.rsdp());
        assertThat(mem.read(layout.rsdp(), n)).isEqualTo(direct.read(layout.rsdp(), n));
        // And the in-core placement agrees with both.
        var placed = t.place(tablesAt, layout.rsdp());
        assertThat(placed.tables()).isEqualTo(mem.read(tablesAt, t.tables().length));
        assertThat(placed.rsdp()).isEqualTo(mem.read(layout.rsdp(), 36));
    }
}
