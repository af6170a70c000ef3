package dev.jhv.devices.pci;

import java.util.ArrayList;
import java.util.List;

/**
 * One function as {@code info pci} shows it (QEMU's HMP layout, see {@link #render}).
 *
 * @param classCode base class and sub-class (0x0200)
 * @param irq       the interrupt line register
 * @param pin       the interrupt pin register, 0 for none
 * @param id        the qdev id, "" for none
 */
public record PciDeviceInfo(int bus, int slot, int function, int classCode, int vendor, int device,
                            int subsystemVendor, int subsystem, int irq, int pin, List<Bar> bars, String id) {
    /** A BAR with its size; {@code address} is -1 while it does not decode. */
    public record Bar(int index, PciBar.Kind kind, boolean prefetchable, long address, long size) { }

    public PciDeviceInfo {
        bars = List.copyOf(bars);
    }

    static PciDeviceInfo of(PciFunction f, String id) {
        PciAddress at = f.address();
        List<Bar> bars = new ArrayList<>();
        int[] header;
        synchronized (f) {
            PciConfigSpace c = f.config;
            header = new int[] {c.get16(PciConfigSpace.CLASS_CODE), c.get16(PciConfigSpace.VENDOR_ID),
                    c.get16(PciConfigSpace.DEVICE_ID), c.get16(PciConfigSpace.SUBSYSTEM_VENDOR_ID),
                    c.get16(PciConfigSpace.SUBSYSTEM_ID), c.get8(PciConfigSpace.INTERRUPT_LINE),
                    c.get8(PciConfigSpace.INTERRUPT_PIN)};
            for (PciBar b : f.bars()) {
                bars.add(new Bar(b.index(), b.kind(), b.prefetchable(), b.decoded(c), b.size()));
            }
        }
        return new PciDeviceInfo(at.bus(), at.slot(), at.function(), header[0], header[1], header[2], header[3],
                header[4], header[5], header[6], bars, id);
    }

    /** The text of {@code info pci} for these functions, as QEMU's monitor prints it. */
    public static String render(List<PciDeviceInfo> functions) {
        var out = new StringBuilder();
        for (PciDeviceInfo d : functions) {
            d.renderTo(out);
        }
        return out.toString();
    }

    private void renderTo(StringBuilder out) {
        out.append(String.format("  Bus %2d, device %3d, function %d:\n", bus, slot, function));
        String name = className(classCode);
        out.append("    ").append(name != null ? name : String.format("Class %04d", classCode));
        out.append(String.format(": PCI device %04x:%04x\n", vendor, device));
        out.append(String.format("      PCI subsystem %04x:%04x\n", subsystemVendor, subsystem));
        if (pin != 0) {
            out.append(String.format("      IRQ %d, pin %c\n", irq, (char) ('A' + pin - 1)));
        }
        for (Bar b : bars) {
            // QEMU prints an unmapped BAR at all ones, its end as that plus the size, wrapped.
            long end = b.address() + b.size() - 1;
            if (b.kind() == PciBar.Kind.IO) {
                out.append(String.format("      BAR%d: I/O at 0x%04x [0x%04x].\n", b.index(), b.address(), end));
            } else {
                out.append(String.format("      BAR%d: %s bit%s memory at 0x%08x [0x%08x].\n", b.index(),
                        b.kind() == PciBar.Kind.MEMORY64 ? "64" : "32", b.prefetchable() ? " prefetchable" : "",
                        b.address(), end));
            }
        }
        out.append("      id \"").append(id).append("\"\n");
    }

    /** The class names QEMU's monitor knows (seen in its output); others print as "Class" and the number. */
    static String className(int classCode) {
        return switch (classCode) {
            case 0x0100 -> "SCSI controller";
            case 0x0101 -> "IDE controller";
            case 0x0104 -> "RAID controller";
            case 0x0106 -> "SATA controller";
            case 0x0200 -> "Ethernet controller";
            case 0x0300 -> "VGA controller";
            case 0x0380 -> "Display controller";
            case 0x0401, 0x0403 -> "Audio controller";
            case 0x0500 -> "RAM controller";
            case 0x0600 -> "Host bridge";
            case 0x0601 -> "ISA bridge";
            case 0x0604 -> "PCI bridge";
            case 0x0680 -> "Bridge";
            case 0x0900 -> "Keyboard";
            case 0x0c03 -> "USB controller";
            default -> null;
        };
    }
}
