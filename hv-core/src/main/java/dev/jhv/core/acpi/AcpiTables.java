package dev.jhv.core.acpi;

import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.cpuid.Topology;
import dev.jhv.core.memory.GuestMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Builds the ACPI tables of a PC: RSDP, XSDT (and RSDT), FADT, FACS, MADT and DSDT, as one relocatable
 * {@link LinkedTables} ({@link #build(Topology, int)}). Without firmware they are placed in the reserved BIOS area
 * at 0xE0000 ({@link #build(GuestMemory, MemoryMap, Topology, int)}) so that both a pointer
 * (boot_params.acpi_rsdp_addr, PVH rsdp_paddr) and the legacy scan of 0xE0000–0xFFFFF find the RSDP; with
 * firmware, fw_cfg's linker/loader has the firmware place them.
 *
 * <p>The fixed hardware described here is what the platform devices emulate: the PM1 event block at 0x600,
 * PM1 control at 0x604, the PM timer at 0x608, SCI on IRQ 9, reset through port 0xCF9 (value 6). ACPI is always
 * enabled (SMI_CMD 0), so there is no SMM handover. Sleep type 0 in \_S5 means soft-off.
 */
public final class AcpiTables {
    /** Where the tables go: the BIOS area, reserved in e820. */
    public static final long BASE = MemoryMap.BIOS_AREA_START;
    public static final long LIMIT = MemoryMap.HIGH_MEMORY_START;

    public static final int PM1A_EVT_BLK = 0x600;
    public static final int PM1_EVT_LEN = 4;
    public static final int PM1A_CNT_BLK = 0x604;
    public static final int PM1_CNT_LEN = 2;
    public static final int PM_TMR_BLK = 0x608;
    public static final int PM_TMR_LEN = 4;
    public static final int SCI_IRQ = 9;
    public static final int RESET_PORT = 0xCF9;
    public static final int RESET_VALUE = 0x06;
    /** The SLP_TYP value \_S5 gives: what the PM1 control register must treat as soft-off. */
    public static final int SLP_TYP_S5 = 0;
    /** CMOS RTC index of the century byte. */
    public static final int RTC_CENTURY = 0x32;

    // FADT flags (ACPI 6.x table 5.10).
    static final int F_WBINVD = 1;
    static final int F_PROC_C1 = 1 << 2;
    static final int F_PWR_BUTTON = 1 << 4;
    static final int F_SLP_BUTTON = 1 << 5;
    static final int F_RESET_REG_SUP = 1 << 10;
    static final int F_HW_REDUCED_ACPI = 1 << 20;
    // IA-PC boot architecture flags.
    static final int BOOT_LEGACY_DEVICES = 1;
    static final int BOOT_8042 = 1 << 1;
    // MADT.
    static final int MADT_PCAT_COMPAT = 1;
    static final int MADT_LAPIC = 0;
    static final int MADT_IOAPIC = 1;
    static final int MADT_ISO = 2;
    static final int MADT_LAPIC_NMI = 4;
    static final int MADT_X2APIC = 9;
    static final int MADT_X2APIC_NMI = 10;
    static final int MPS_ACTIVE_HIGH = 1;
    static final int MPS_EDGE = 1 << 2;
    static final int MPS_LEVEL = 3 << 2;
    static final int GAS_SYSTEM_IO = 1;

    static final int FADT_REVISION = 6;
    static final int FADT_MINOR = 0;
    static final int MADT_REVISION = 5;
    static final int DSDT_REVISION = 2; // 64-bit AML integers

    // Pointer fields: FADT (ACPI 6.x table 5.9) and RSDP (table 5.3) offsets.
    static final int FADT_FIRMWARE_CTRL = 36;
    static final int FADT_DSDT = 40;
    static final int FADT_X_DSDT = 140;
    static final int RSDP_CHECKSUM = 8;
    static final int RSDP_RSDT = 16;
    static final int RSDP_V1_LENGTH = 20;
    static final int RSDP_XSDT = 24;
    static final int RSDP_EXTENDED_CHECKSUM = 32;
    static final int RSDP_LENGTH = 36;

    private AcpiTables() { }

    /** Addresses of what {@link #build} wrote, for tests and diagnostics. */
    public record Layout(long rsdp, long xsdt, long rsdt, long fadt, long facs, long dsdt, long madt, long end) { }

    /**
     * Writes the tables for {@code cpus} vCPUs whose APIC ids come from {@code topology}, and returns the RSDP's
     * guest-physical address.
     */
    public static long build(GuestMemory mem, MemoryMap map, Topology topology, int cpus) {
        return layout(mem, map, topology, cpus).rsdp();
    }

    /** Like {@link #build}, for a board with QEMU's pc PCI chipset (i440FX, PIIX3) forwarding {@code pci}. */
    public static long build(GuestMemory mem, MemoryMap map, Topology topology, int cpus, PciWindows pci) {
        return layout(mem, map, topology, cpus, Objects.requireNonNull(pci)).rsdp();
    }

    /** Like {@link #layout(GuestMemory, MemoryMap, Topology, int, PciWindows)} with no PCI bus. */
    public static Layout layout(GuestMemory mem, MemoryMap map, Topology topology, int cpus) {
        return layout(mem, map, topology, cpus, null);
    }

    /**
     * Like {@link #build} but returns where every table went: the RSDP at {@link #BASE}, the tables blob of
     * {@link #build(Topology, int, PciWindows)} at the next 64-byte boundary, its pointers fixed up for those
     * addresses; {@code pci} null: no PCI bus.
     */
    public static Layout layout(GuestMemory mem, MemoryMap map, Topology topology, int cpus, PciWindows pci) {
        if (map.lowMemoryEnd() < LIMIT) {
            throw new IllegalArgumentException("guest RAM ends below the BIOS area the ACPI tables go in");
        }
        LinkedTables linked = build(topology, cpus, pci);
        long rsdp = BASE;
        long tables = align(rsdp + linked.rsdp().length, LinkedTables.TABLES_ALIGNMENT);
        long end = tables + linked.tables().length;
        if (end > LIMIT) {
            throw new IllegalStateException("ACPI tables for " + cpus + " CPUs do not fit below 1 MiB");
        }
        var placed = linked.place(tables, rsdp);
        mem.fill(BASE, LIMIT - BASE, (byte) 0);
        mem.write(tables, placed.tables());
        mem.write(rsdp, placed.rsdp());
        return new Layout(rsdp, tables + linked.table("XSDT").offset(), tables + linked.table("RSDT").offset(),
                tables + linked.table("FACP").offset(), tables + linked.table("FACS").offset(),
                tables + linked.table("DSDT").offset(), tables + linked.table("APIC").offset(), end);
    }

    /**
     * The tables for {@code cpus} vCPUs whose APIC ids come from {@code topology}, at no address yet: what direct
     * kernel boot places itself and what firmware gets through fw_cfg's linker/loader.
     */
    public static LinkedTables build(Topology topology, int cpus) {
        return build(topology, cpus, null);
    }

    /** Like {@link #build(Topology, int)}, with QEMU pc's PCI host bridge in the DSDT when {@code pci} is given. */
    public static LinkedTables build(Topology topology, int cpus, PciWindows pci) {
        if (cpus < 1 || cpus > topology.maxCpus()) {
            throw new IllegalArgumentException(cpus + " vCPUs do not fit topology " + topology);
        }
        int[] apicIds = new int[cpus];
        for (int i = 0; i < cpus; i++) {
            apicIds[i] = topology.apicId(i);
        }
        // FACS first (the blob is 64-byte aligned, so is the FACS), then the rest 16-byte aligned. Each table
        // points only at tables before it, so its pointer fields hold their targets' offsets when it is written.
        var b = new LinkedTables.Builder();
        int facs = b.add(facs(), LinkedTables.TABLES_ALIGNMENT, false); // the FACS has no checksum
        int dsdt = b.add(dsdt(cpus, pci), 16, true);
        int fadt = b.add(fadt(facs, dsdt), 16, true);
        b.pointer(fadt, FADT_FIRMWARE_CTRL, 4, LinkedTables.Blob.TABLES, facs);
        b.pointer(fadt, FADT_DSDT, 4, LinkedTables.Blob.TABLES, dsdt);
        b.pointer(fadt, FADT_X_DSDT, 8, LinkedTables.Blob.TABLES, dsdt);
        int madt = b.add(madt(apicIds, pci != null), 16, true);
        List<Long> pointed = List.of((long) fadt, (long) madt);
        int xsdt = b.add(xsdt(pointed), 16, true);
        int rsdt = b.add(rsdt(pointed), 16, true);
        for (int i = 0; i < pointed.size(); i++) {
            int target = pointed.get(i).intValue();
            b.pointer(xsdt, TableWriter.HEADER_SIZE + 8 * i, 8, LinkedTables.Blob.TABLES, target);
            b.pointer(rsdt, TableWriter.HEADER_SIZE + 4 * i, 4, LinkedTables.Blob.TABLES, target);
        }
        var rsdpPointers = List.of(
                new LinkedTables.Pointer(LinkedTables.Blob.RSDP, RSDP_RSDT, 4, LinkedTables.Blob.TABLES, rsdt),
                new LinkedTables.Pointer(LinkedTables.Blob.RSDP, RSDP_XSDT, 8, LinkedTables.Blob.TABLES, xsdt));
        // The first checksum covers the ACPI 1.0 part, the extended one all 36 bytes (the first included).
        var rsdpChecksums = List.of(
                new LinkedTables.Checksum(LinkedTables.Blob.RSDP, RSDP_CHECKSUM, 0, RSDP_V1_LENGTH),
                new LinkedTables.Checksum(LinkedTables.Blob.RSDP, RSDP_EXTENDED_CHECKSUM, 0, RSDP_LENGTH));
        return b.finish(rsdp(xsdt, rsdt), rsdpPointers, rsdpChecksums);
    }

    private static long align(long v, int a) {
        return (v + a - 1) & -a;
    }

    /** RSDP revision 2: checksum over the first 20 bytes, extended checksum over all 36. */
    static byte[] rsdp(long xsdt, long rsdt) {
        var w = new TableWriter();
        w.ascii("RSD PTR ", 8).u8(0).ascii(TableWriter.OEM_ID, 6).u8(2).u32(rsdt).u32(36).u64(xsdt).u8(0).zeros(3);
        byte[] b = w.raw();
        b[RSDP_CHECKSUM] = TableWriter.checksum(b, 0, RSDP_V1_LENGTH);
        b[RSDP_EXTENDED_CHECKSUM] = TableWriter.checksum(b, 0, RSDP_LENGTH);
        return b;
    }

    static byte[] xsdt(List<Long> tables) {
        var w = TableWriter.withHeader("XSDT", 1);
        tables.forEach(w::u64);
        return w.finish();
    }

    static byte[] rsdt(List<Long> tables) {
        var w = TableWriter.withHeader("RSDT", 1);
        tables.forEach(w::u32);
        return w.finish();
    }

    /** FACS: no checksum, 64 bytes, version 2; firmware waking vector 0 (no S3). */
    static byte[] facs() {
        var w = new TableWriter();
        w.ascii("FACS", 4).u32(64).u32(0).u32(0).u32(0).u32(0).u64(0).u8(2).zeros(3).u32(0).zeros(24);
        return w.raw();
    }

    /** FADT revision 6 (276 bytes), full (not hardware-reduced) ACPI on a PC with the PIIX4-like PM block. */
    static byte[] fadt(long facs, long dsdt) {
        int flags = F_WBINVD | F_PROC_C1 | F_SLP_BUTTON | F_RESET_REG_SUP; // PWR_BUTTON clear: fixed feature
        var w = TableWriter.withHeader("FACP", FADT_REVISION);
        w.u32(facs)                 // 36 FIRMWARE_CTRL
                .u32(dsdt)          // 40 DSDT
                .u8(0)              // 44 reserved (was INT_MODEL)
                .u8(0)              // 45 Preferred_PM_Profile: unspecified
                .u16(SCI_IRQ)       // 46 SCI_INT
                .u32(0)             // 48 SMI_CMD: none, ACPI is always enabled
                .u8(0).u8(0)        // 52 ACPI_ENABLE, ACPI_DISABLE
                .u8(0).u8(0)        // 54 S4BIOS_REQ, PSTATE_CNT
                .u32(PM1A_EVT_BLK)  // 56
                .u32(0)             // 60 PM1b_EVT_BLK
                .u32(PM1A_CNT_BLK)  // 64
                .u32(0)             // 68 PM1b_CNT_BLK
                .u32(0)             // 72 PM2_CNT_BLK
                .u32(PM_TMR_BLK)    // 76
                .u32(0).u32(0)      // 80 GPE0_BLK, GPE1_BLK
                .u8(PM1_EVT_LEN).u8(PM1_CNT_LEN).u8(0).u8(PM_TMR_LEN) // 88
                .u8(0).u8(0).u8(0)  // 92 GPE0_BLK_LEN, GPE1_BLK_LEN, GPE1_BASE
                .u8(0)              // 95 CST_CNT
                .u16(0xFFF)         // 96 P_LVL2_LAT: > 100, no C2
                .u16(0xFFF)         // 98 P_LVL3_LAT: > 1000, no C3
                .u16(0).u16(0)      // 100 FLUSH_SIZE, FLUSH_STRIDE
                .u8(0).u8(0)        // 104 DUTY_OFFSET, DUTY_WIDTH
                .u8(0).u8(0)        // 106 DAY_ALRM, MON_ALRM
                .u8(RTC_CENTURY)    // 108 CENTURY
                .u16(BOOT_LEGACY_DEVICES | BOOT_8042) // 109 IAPC_BOOT_ARCH
                .u8(0)              // 111 reserved
                .u32(flags)         // 112 Flags
                .gas(GAS_SYSTEM_IO, 8, 0, 1, RESET_PORT) // 116 RESET_REG
                .u8(RESET_VALUE)    // 128 RESET_VALUE
                .u16(0)             // 129 ARM_BOOT_ARCH
                .u8(FADT_MINOR)     // 131 FADT minor version
                .u64(0)             // 132 X_FIRMWARE_CTRL: 0, FIRMWARE_CTRL holds the (32-bit) FACS address
                .u64(dsdt)          // 140 X_DSDT
                .gas(GAS_SYSTEM_IO, PM1_EVT_LEN * 8, 0, 0, PM1A_EVT_BLK) // 148 X_PM1a_EVT_BLK
                .gas(0, 0, 0, 0, 0)                                     // 160 X_PM1b_EVT_BLK
                .gas(GAS_SYSTEM_IO, PM1_CNT_LEN * 8, 0, 0, PM1A_CNT_BLK) // 172 X_PM1a_CNT_BLK
                .gas(0, 0, 0, 0, 0)                                     // 184 X_PM1b_CNT_BLK
                .gas(0, 0, 0, 0, 0)                                     // 196 X_PM2_CNT_BLK
                .gas(GAS_SYSTEM_IO, PM_TMR_LEN * 8, 0, 0, PM_TMR_BLK)   // 208 X_PM_TMR_BLK
                .gas(0, 0, 0, 0, 0)                                     // 220 X_GPE0_BLK
                .gas(0, 0, 0, 0, 0)                                     // 232 X_GPE1_BLK
                .gas(0, 0, 0, 0, 0)                                     // 244 SLEEP_CONTROL_REG
                .gas(0, 0, 0, 0, 0)                                     // 256 SLEEP_STATUS_REG
                .u64(0);                                                // 268 hypervisor vendor identity
        return w.finish();
    }

    /** MADT: the LAPICs (x2APIC entries for ids ≥ 255), one IOAPIC, the ISA overrides, NMI on LINT1. */
    static byte[] madt(int[] apicIds) {
        return madt(apicIds, false);
    }

    /** With {@code pci}, the overrides of QEMU's pc: PCI links' IRQs 5, 10, 11 and the SCI are level, high. */
    static byte[] madt(int[] apicIds, boolean pci) {
        var w = TableWriter.withHeader("APIC", MADT_REVISION);
        w.u32(MemoryMap.LAPIC_BASE).u32(MADT_PCAT_COMPAT);
        boolean anyX2apic = false;
        for (int uid = 0; uid < apicIds.length; uid++) {
            int id = apicIds[uid];
            if (id < 255) {
                w.u8(MADT_LAPIC).u8(8).u8(uid).u8(id).u32(1); // enabled
            } else {
                anyX2apic = true;
                w.u8(MADT_X2APIC).u8(16).u16(0).u32(id).u32(1).u32(uid);
            }
        }
        w.u8(MADT_IOAPIC).u8(12).u8(apicIds.length & 0xFF).u8(0).u32(MemoryMap.IOAPIC_BASE).u32(0);
        // The PIT's IRQ 0 is wired to IOAPIC pin 2; the SCI is level-triggered, active high.
        if (pci) {
            // As QEMU's pc: IRQ 0 conforms to the ISA bus (flags 0); the links' IRQs and the SCI are level, high.
            w.u8(MADT_ISO).u8(10).u8(0).u8(0).u32(2).u16(0);
            for (int irq : PciHostAml.LEVEL_IRQS) {
                w.u8(MADT_ISO).u8(10).u8(0).u8(irq).u32(irq).u16(MPS_ACTIVE_HIGH | MPS_LEVEL);
            }
        } else {
            w.u8(MADT_ISO).u8(10).u8(0).u8(0).u32(2).u16(MPS_ACTIVE_HIGH | MPS_EDGE);
            w.u8(MADT_ISO).u8(10).u8(0).u8(SCI_IRQ).u32(SCI_IRQ).u16(MPS_ACTIVE_HIGH | MPS_LEVEL);
        }
        w.u8(MADT_LAPIC_NMI).u8(6).u8(0xFF).u16(0).u8(1); // all processors, LINT1
        if (anyX2apic) {
            w.u8(MADT_X2APIC_NMI).u8(12).u16(0).u32(0xFFFF_FFFFL).u8(1).zeros(3);
        }
        return w.finish();
    }

    /** DSDT: \_S5 (soft-off, SLP_TYP 0) and \_SB with the processors and the legacy ISA devices. */
    static byte[] dsdt(int cpus) {
        return dsdt(cpus, null);
    }

    /** With {@code pci} (may be null), the legacy devices sit under \_SB.PCI0.ISA, the PIIX3 they are part of. */
    static byte[] dsdt(int cpus, PciWindows pci) {
        var sb = new ArrayList<byte[]>();
        var isa = new ArrayList<byte[]>();
        for (int i = 0; i < cpus; i++) {
            sb.add(Aml.device(String.format("C%03X", i),
                    Aml.name("_HID", Aml.string("ACPI0007")),
                    Aml.name("_UID", Aml.integer(i))));
        }
        isa.add(Aml.device("COM1",
                Aml.name("_HID", Aml.eisaId("PNP0501")),
                Aml.name("_UID", Aml.integer(1)),
                Aml.name("_CRS", Aml.resourceTemplate(Aml.io(0x3F8, 0x3F8, 0, 8), Aml.irqNoFlags(4)))));
        isa.add(Aml.device("KBD",
                Aml.name("_HID", Aml.eisaId("PNP0303")),
                Aml.name("_CRS", Aml.resourceTemplate(Aml.io(0x60, 0x60, 1, 1), Aml.io(0x64, 0x64, 1, 1),
                        Aml.irqNoFlags(1)))));
        isa.add(Aml.device("RTC",
                Aml.name("_HID", Aml.eisaId("PNP0B00")),
                Aml.name("_CRS", Aml.resourceTemplate(Aml.io(0x70, 0x70, 1, 2), Aml.irqNoFlags(8)))));
        sb.addAll(pci == null ? isa : PciHostAml.devices(pci, isa));
        var w = TableWriter.withHeader("DSDT", DSDT_REVISION);
        w.bytes(Aml.name("\\_S5", Aml.pkg(Aml.integer(SLP_TYP_S5), Aml.integer(SLP_TYP_S5),
                Aml.integer(0), Aml.integer(0))));
        w.bytes(Aml.scope("\\_SB", sb.toArray(byte[][]::new)));
        return w.finish();
    }
}
