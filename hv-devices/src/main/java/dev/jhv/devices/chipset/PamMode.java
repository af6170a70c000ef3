package dev.jhv.devices.chipset;

/** What a PAM nibble's RE (bit 0) and WE (bit 1) make of its region: where reads and writes go. */
public enum PamMode {
    /** Reads and writes go to PCI (the BIOS ROM). */
    DISABLED,
    /** Reads from RAM, writes to PCI. */
    READ_ONLY,
    /** Writes to RAM, reads from PCI. */
    WRITE_ONLY,
    READ_WRITE;

    static PamMode of(int nibble) {
        return values()[nibble & 3];
    }
}
