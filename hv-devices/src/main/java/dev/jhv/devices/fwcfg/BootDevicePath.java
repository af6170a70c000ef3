package dev.jhv.devices.fwcfg;

/**
 * OpenFirmware device paths for the bootorder file, in the form QEMU writes them for the i440FX PC and SeaBIOS
 * matches them (SeaBIOS's debug log shows what it looks for, e.g. {@code /pci@i0cf8/*@1,1/drive@0/disk@0}).
 */
public final class BootDevicePath {
    /** The PCI root of the i440FX: configuration mechanism #1 at I/O port 0xCF8. */
    static final String PCI_ROOT = "/pci@i0cf8";

    private BootDevicePath() { }

    /**
     * A drive on the PIIX IDE function (00:01.1): {@code bus} 0 primary, 1 secondary; {@code unit} 0 master,
     * 1 slave. Disks and CD-ROMs have the same form.
     */
    public static String ide(int bus, int unit) {
        if (bus < 0 || bus > 1 || unit < 0 || unit > 1) {
            throw new IllegalArgumentException("IDE bus " + bus + " unit " + unit);
        }
        return PCI_ROOT + "/ide@1,1/drive@" + bus + "/disk@" + unit;
    }

    /** An option ROM given as genroms/{@code name}. */
    public static String optionRom(String name) {
        return "/rom@genroms/" + name;
    }
}
