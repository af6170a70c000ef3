package dev.jhv.core.acpi;

import dev.jhv.core.acpi.Aml.AccessType;
import dev.jhv.core.acpi.Aml.Cacheability;
import dev.jhv.core.acpi.Aml.FieldUnit;
import dev.jhv.core.acpi.Aml.Polarity;
import dev.jhv.core.acpi.Aml.RegionSpace;
import dev.jhv.core.acpi.Aml.Sharing;
import dev.jhv.core.acpi.Aml.Trigger;
import dev.jhv.core.acpi.Aml.UpdateRule;

import java.util.ArrayList;
import java.util.List;

import static dev.jhv.core.acpi.Aml.integer;
import static dev.jhv.core.acpi.Aml.name;
import static dev.jhv.core.acpi.Aml.nameString;

/**
 * The AML of QEMU's {@code pc} chipset under \_SB: the i440FX host bridge {@code PCI0} (bus 0) with the PIIX3
 * ISA bridge {@code PCI0.ISA} at 00:01.0, and the interrupt link devices an OS routes PCI INTx through.
 *
 * <p>PIIX3's PIRQRC registers (ISA bridge config 0x60-0x63, one per PIRQ A-D) steer a PIRQ to an ISA IRQ in
 * bits 3:0, bit 7 set disabling it. The links LNKA-LNKD read and write them through a PCI_Config region, so
 * whatever the firmware set (SeaBIOS: 10, 10, 11, 11) is what the OS finds. Slot s pin p (A = 0) drives PIRQ
 * (s - 1 + p) mod 4, the board's swizzle; the PM function 01.3's pin A is its SCI, fixed at IRQ 9, reached
 * through LNKS as on QEMU.
 */
final class PciHostAml {
    private PciHostAml() { }

    static final String ISA_PATH = "\\_SB.PCI0.ISA";
    /** PCI device 1 function 0: _ADR is device << 16 | function. */
    static final int ISA_ADR = 0x0001_0000;
    static final int PIRQRC = 0x60;
    static final int PIRQ_DISABLED = 0x80;
    static final int PIRQ_IRQ_MASK = 0x0F;
    static final String[] LINKS = {"LNKA", "LNKB", "LNKC", "LNKD"};
    static final String[] PIRQ_FIELDS = {"PRQA", "PRQB", "PRQC", "PRQD"};
    static final String SCI_LINK = "LNKS";
    /** The ISA IRQs a link may take, as QEMU's pc offers them. */
    static final long[] LINK_IRQS = {5, 10, 11};
    /** The ISA IRQs that are level-triggered, active high with a PCI bus: the links' and the SCI. */
    static final int[] LEVEL_IRQS = {5, 9, 10, 11};
    static final int SLOTS = 32;
    static final int PINS = 4;
    // _STA: present, enabled, functioning (shown in UI clear); without "enabled" when the route is off.
    static final int STA_ENABLED = 0x0B;
    static final int STA_DISABLED = 0x09;
    /** Where the interrupt number sits in a one-IRQ Interrupt() template: after tag, length, flags, count. */
    static final int INTERRUPT_NUMBER_OFFSET = 5;

    /** The PIRQ (0 = A) that slot {@code slot}'s pin {@code pin} (0 = INTA#) drives. */
    static int pirq(int slot, int pin) {
        return (slot - 1 + pin) & 3;
    }

    /** The link device _PRT names for that slot and pin. */
    static String link(int slot, int pin) {
        return slot == 1 && pin == 0 ? SCI_LINK : LINKS[pirq(slot, pin)];
    }

    /** The \_SB terms: Device(PCI0) holding Device(ISA) with {@code isaDevices}, then the link devices. */
    static List<byte[]> devices(PciWindows windows, List<byte[]> isaDevices) {
        var out = new ArrayList<byte[]>();
        out.add(Aml.device("PCI0",
                name("_HID", Aml.eisaId("PNP0A03")),
                name("_ADR", integer(0)),
                name("_UID", integer(0)),
                name("_CRS", crs(windows)),
                name("_PRT", prt()),
                isaBridge(isaDevices)));
        for (int i = 0; i < LINKS.length; i++) {
            out.add(link(i));
        }
        out.add(sciLink());
        return out;
    }

    /** What the host bridge decodes: all buses, all I/O but the config ports, the VGA hole and the windows. */
    static byte[] crs(PciWindows w) {
        var d = new ArrayList<byte[]>();
        d.add(Aml.wordBusNumber(0x00, 0xFF));
        d.add(Aml.io(0xCF8, 0xCF8, 1, 8)); // consumed by the bridge itself: CONFIG_ADDRESS / CONFIG_DATA
        d.add(Aml.dwordIo(0x0000, 0x0CF7));
        d.add(Aml.dwordIo(0x0D00, 0xFFFF));
        d.add(Aml.dwordMemory(Cacheability.CACHEABLE, 0xA_0000, 0xB_FFFF));
        d.add(Aml.dwordMemory(Cacheability.NON_CACHEABLE, w.mem32Start(), PciWindows.MEM32_END));
        if (w.hasMem64()) {
            d.add(Aml.qwordMemory(Cacheability.CACHEABLE, w.mem64Start(), w.mem64Start() + w.mem64Length() - 1));
        }
        return Aml.resourceTemplate(d.toArray(byte[][]::new));
    }

    /** Package of every slot's four pins: {slot << 16 | 0xFFFF (any function), pin, link, 0}. */
    static byte[] prt() {
        var entries = new byte[SLOTS * PINS][];
        for (int slot = 0; slot < SLOTS; slot++) {
            for (int pin = 0; pin < PINS; pin++) {
                entries[slot * PINS + pin] = Aml.pkg(integer((long) slot << 16 | 0xFFFF), integer(pin),
                        nameString(link(slot, pin)), integer(0));
            }
        }
        return Aml.pkg(entries);
    }

    /** Device(ISA): the PIIX3 function 0, its PIRQRC bytes as fields PRQA-PRQD, and the legacy devices. */
    static byte[] isaBridge(List<byte[]> isaDevices) {
        var units = new FieldUnit[PIRQ_FIELDS.length];
        for (int i = 0; i < units.length; i++) {
            units[i] = new FieldUnit.Named(PIRQ_FIELDS[i], 8);
        }
        var terms = new ArrayList<byte[]>();
        terms.add(name("_ADR", integer(ISA_ADR)));
        terms.add(Aml.operationRegion("PIRQ", RegionSpace.PCI_CONFIG, PIRQRC, PIRQ_FIELDS.length));
        terms.add(Aml.field("PIRQ", AccessType.BYTE, UpdateRule.PRESERVE, units));
        terms.addAll(isaDevices);
        return Aml.device("ISA", terms.toArray(byte[][]::new));
    }

    static byte[] linkTemplate(long... irqs) {
        return Aml.resourceTemplate(Aml.interrupt(Trigger.LEVEL, Polarity.ACTIVE_HIGH, Sharing.SHARED, irqs));
    }

    /** LNKA-LNKD: PNP0C0F over PIRQRC byte {@code i}. */
    static byte[] link(int i) {
        byte[] prq = nameString(ISA_PATH + "." + PIRQ_FIELDS[i]);
        return Aml.device(LINKS[i],
                name("_HID", Aml.eisaId("PNP0C0F")),
                name("_UID", integer(i)),
                name("_PRS", linkTemplate(LINK_IRQS)),
                Aml.method("_STA", 0, false,
                        Aml.ifThen(Aml.and(prq, integer(PIRQ_DISABLED)), Aml.ret(integer(STA_DISABLED))),
                        Aml.ret(integer(STA_ENABLED))),
                // A disabled route reads as IRQ 0, which an OS takes as "no interrupt".
                Aml.method("_CRS", 0, true,
                        name("RTPL", linkTemplate(0)),
                        Aml.createDWordField(nameString("RTPL"), INTERRUPT_NUMBER_OFFSET, "IRQN"),
                        Aml.ifThen(Aml.lLess(prq, integer(PIRQ_DISABLED)),
                                Aml.and(prq, integer(PIRQ_IRQ_MASK), nameString("IRQN"))),
                        Aml.ret(nameString("RTPL"))),
                // Storing the IRQ number also clears bit 7: the route is enabled.
                Aml.method("_SRS", 1, true,
                        Aml.createDWordField(Aml.arg(0), INTERRUPT_NUMBER_OFFSET, "IRQN"),
                        Aml.store(nameString("IRQN"), prq)),
                Aml.method("_DIS", 0, false,
                        Aml.or(prq, integer(PIRQ_DISABLED), prq)));
    }

    /** LNKS: the PM function's SCI, hard-wired to IRQ 9; setting it changes nothing. */
    static byte[] sciLink() {
        byte[] sci = linkTemplate(AcpiTables.SCI_IRQ);
        return Aml.device(SCI_LINK,
                name("_HID", Aml.eisaId("PNP0C0F")),
                name("_UID", integer(LINKS.length)),
                name("_PRS", sci),
                name("_CRS", sci),
                Aml.method("_STA", 0, false, Aml.ret(integer(STA_ENABLED))),
                Aml.method("_SRS", 1, false),
                Aml.method("_DIS", 0, false));
    }
}
