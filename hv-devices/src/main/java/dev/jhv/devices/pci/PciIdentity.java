package dev.jhv.devices.pci;

/**
 * The read-only identity registers of a type-0 header.
 *
 * @param classCode base class and sub-class (0x0600 host bridge), register 0x0a–0x0b
 * @param progIf    programming interface, register 0x09
 */
public record PciIdentity(int vendor, int device, int revision, int classCode, int progIf,
                          int subsystemVendor, int subsystem) {
    /** The subsystem QEMU gives its own devices (Red Hat, QEMU). */
    public static final int QEMU_SUBSYSTEM_VENDOR = 0x1af4;
    public static final int QEMU_SUBSYSTEM = 0x1100;

    public PciIdentity {
        check("vendor", vendor, 0xffff);
        check("device", device, 0xffff);
        check("revision", revision, 0xff);
        check("classCode", classCode, 0xffff);
        check("progIf", progIf, 0xff);
        check("subsystemVendor", subsystemVendor, 0xffff);
        check("subsystem", subsystem, 0xffff);
    }

    /** With QEMU's subsystem IDs. */
    public static PciIdentity qemu(int vendor, int device, int revision, int classCode, int progIf) {
        return new PciIdentity(vendor, device, revision, classCode, progIf, QEMU_SUBSYSTEM_VENDOR, QEMU_SUBSYSTEM);
    }

    private static void check(String name, int value, int max) {
        if (value < 0 || value > max) {
            throw new IllegalArgumentException(name + " 0x" + Integer.toHexString(value) + " does not fit");
        }
    }
}
