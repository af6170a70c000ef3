package dev.jhv.devices.pci;

/**
 * Where a PCI function answers configuration cycles: bus (0–255), slot or device number (0–31), function (0–7).
 * Prints as {@code 00:01.1}, lspci's and QEMU's form.
 */
public record PciAddress(int bus, int slot, int function) {
    public PciAddress {
        if (bus < 0 || bus > 255) {
            throw new IllegalArgumentException("PCI bus " + bus + " is not 0..255");
        }
        if (slot < 0 || slot > 31) {
            throw new IllegalArgumentException("PCI slot " + slot + " is not 0..31");
        }
        if (function < 0 || function > 7) {
            throw new IllegalArgumentException("PCI function " + function + " is not 0..7");
        }
    }

    /** Device and function as one byte (slot in bits 7:3), the form CONFIG_ADDRESS carries. */
    public int devfn() {
        return slot << 3 | function;
    }

    public static PciAddress of(int bus, int devfn) {
        return new PciAddress(bus, (devfn >>> 3) & 0x1f, devfn & 7);
    }

    /**
     * QEMU's {@code addr=} property on bus 0: a hexadecimal slot, optionally {@code .function}
     * ({@code 3}, {@code 0x10}, {@code 1f}, {@code 03.1}).
     *
     * @throws IllegalArgumentException naming the value when it is not an address
     */
    public static PciAddress parseAddr(String text) {
        String t = text.strip();
        int dot = t.indexOf('.');
        String slot = dot < 0 ? t : t.substring(0, dot);
        if (slot.startsWith("0x") || slot.startsWith("0X")) {
            slot = slot.substring(2);
        }
        try {
            int s = Integer.parseInt(slot, 16);
            int f = dot < 0 ? 0 : Integer.parseInt(t.substring(dot + 1), 16);
            if (s < 0 || s > 31 || f < 0 || f > 7) {
                throw new IllegalArgumentException("PCI address '" + text + "' is out of range (slot 0..1f, function 0..7)");
            }
            return new PciAddress(0, s, f);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("PCI address '" + text + "' is not slot[.function] in hexadecimal", e);
        }
    }

    @Override
    public String toString() {
        return String.format("%02x:%02x.%x", bus, slot, function);
    }
}
