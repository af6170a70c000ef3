package dev.jhv.devices.ide;

/**
 * What a drive position is doing between register accesses: which data phase is open and what happens when the
 * guest has moved the current DRQ block (QEMU's end_transfer_fn). Saved by ordinal: append only.
 */
enum Transfer {
    /** No data phase: the command (if any) is complete. */
    NONE,
    /** One block of device data for the guest (IDENTIFY): at its end, the command completes. */
    PIO_IN,
    /** READ SECTORS / MULTIPLE: at each block's end, the next block or completion. */
    READ_SECTORS,
    /** WRITE SECTORS / MULTIPLE: at each block's end, the block is written, then the next or completion. */
    WRITE_SECTORS,
    /** PACKET: the guest writes the 12-byte command packet. */
    PACKET,
    /** ATAPI data to the guest: at each DRQ block's end, the next block or completion. */
    ATAPI_IN,
    /** An ATA DMA command waits for (or runs with) the bus master. */
    DMA,
    /** An ATAPI command's data phase by DMA waits for (or runs with) the bus master. */
    ATAPI_DMA;

    static Transfer of(int ordinal) {
        Transfer[] all = values();
        if (ordinal < 0 || ordinal >= all.length) {
            throw new IllegalArgumentException("transfer kind " + ordinal + " is not one of 0.." + (all.length - 1));
        }
        return all[ordinal];
    }
}
