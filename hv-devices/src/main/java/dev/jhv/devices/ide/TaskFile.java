package dev.jhv.devices.ide;

/**
 * One drive position's registers and transfer progress (QEMU's IDEState, "ide_drive"): the task file with its HOB
 * copies, status and error, the PIO buffer and where the guest is in it, the open command's position on the
 * medium, and the ATAPI sense and tray. Both positions of a channel see every task-file write, present or not.
 * Guarded by the channel's lock.
 */
final class TaskFile {
    /** Largest PIO/ATAPI buffer: 16 ATAPI sectors (and 128 ATA sectors for READ MULTIPLE at most 16). */
    static final int BUFFER_SIZE = 16 * 2048;

    int feature, hobFeature;
    int nsector, hobNsector;
    int sector, hobSector;
    int lcyl, hobLcyl;
    int hcyl, hobHcyl;
    int select = Ata.DEVICE_ALWAYS;
    int status;
    int error;
    /** The command being executed (for the data phases). */
    int command;
    boolean lba48;

    final byte[] buffer = new byte[BUFFER_SIZE];
    /** The guest's position in the current DRQ block, and the block's end. */
    int pos, end;
    Transfer transfer = Transfer.NONE;
    /** ATA: the next sector of the command; ATAPI: the next 2048-byte block to read. */
    long lba;
    /** Sectors (ATA) or ATAPI blocks still to move after the buffered ones. */
    int remaining;
    /** Sectors per DRQ block of READ/WRITE MULTIPLE (0: multiple mode disabled). */
    int multSectors = 16;
    /** Sectors the current DRQ block holds (ATA PIO). */
    int blockSectors;
    /** Heads and sectors per track of the current CHS translation (INITIALIZE DEVICE PARAMETERS). */
    int heads, sectorsPerTrack;
    /** SET FEATURES transfer mode (count value: 0x08|n PIO, 0x20|n MWDMA, 0x40|n UDMA). */
    int transferMode = 0x40 | 5;
    boolean writeCache = true;

    // ATAPI.
    int senseKey, asc, ascq;
    /** ATAPI data-in: bytes of reply left (buffered reply) and the guest's byte-count limit per DRQ block. */
    int atapiLeft;
    int byteLimit;
    boolean trayOpen, trayLocked;
    /** A medium change the guest has not yet been told of (UNIT ATTENTION pending). */
    boolean mediaChanged;
    /** A GET EVENT STATUS media event not yet reported (1: eject request, 2: new media, 3: media removal). */
    int mediaEvent;

    /** The value of the device register's DEV bit: which position the guest selected. */
    int selectedUnit() {
        return (select & Ata.DEV) != 0 ? 1 : 0;
    }

    /** Lands the command's end in the registers: status, error; no data phase left. */
    void complete(int status) {
        this.status = status;
        transfer = Transfer.NONE;
        pos = end = 0;
    }

    void abort(int errorBits) {
        error = errorBits;
        complete(Ata.DRDY | Ata.DSC | Ata.ERR);
    }

    /** Device signature after reset or diagnostics (ATA 0x0000, ATAPI 0xEB14 in the cylinder registers). */
    void signature(boolean packetDevice) {
        nsector = 1;
        sector = 1;
        lcyl = packetDevice ? 0x14 : 0;
        hcyl = packetDevice ? 0xeb : 0;
        hobNsector = hobSector = hobLcyl = hobHcyl = 0;
        select &= ~0x0f;
    }

    /** A 28-bit or 48-bit LBA, or a CHS address turned into one (-1: CHS sector 0, which does not exist). */
    long address() {
        if (lba48) {
            return (long) hobHcyl << 40 | (long) hobLcyl << 32 | (long) hobSector << 24
                    | (long) hcyl << 16 | (long) lcyl << 8 | sector;
        }
        if ((select & Ata.LBA) != 0) {
            return (long) (select & 0x0f) << 24 | (long) hcyl << 16 | (long) lcyl << 8 | sector;
        }
        if (sector == 0 || heads == 0 || sectorsPerTrack == 0) {
            return -1;
        }
        long cyl = (long) hcyl << 8 | lcyl;
        long head = select & 0x0f;
        if (head >= heads || sector > sectorsPerTrack) {
            return -1;
        }
        return (cyl * heads + head) * sectorsPerTrack + sector - 1;
    }

    /** Puts an address back into the registers in the command's addressing mode (after a block, or on error). */
    void setAddress(long a) {
        if (lba48) {
            sector = (int) a & 0xff;
            lcyl = (int) (a >>> 8) & 0xff;
            hcyl = (int) (a >>> 16) & 0xff;
            hobSector = (int) (a >>> 24) & 0xff;
            hobLcyl = (int) (a >>> 32) & 0xff;
            hobHcyl = (int) (a >>> 40) & 0xff;
        } else if ((select & Ata.LBA) != 0) {
            sector = (int) a & 0xff;
            lcyl = (int) (a >>> 8) & 0xff;
            hcyl = (int) (a >>> 16) & 0xff;
            select = (select & 0xf0) | (int) (a >>> 24) & 0x0f;
        } else if (heads > 0 && sectorsPerTrack > 0) {
            long cyl = a / ((long) heads * sectorsPerTrack);
            long r = a % ((long) heads * sectorsPerTrack);
            lcyl = (int) cyl & 0xff;
            hcyl = (int) (cyl >>> 8) & 0xff;
            select = (select & 0xf0) | (int) (r / sectorsPerTrack) & 0x0f;
            sector = (int) (r % sectorsPerTrack) + 1;
        }
    }

    /** The sector count: 0 means 256 (28-bit) or 65536 (48-bit). */
    int count() {
        int n = lba48 ? hobNsector << 8 | nsector : nsector;
        return n == 0 ? (lba48 ? 65536 : 256) : n;
    }
}
