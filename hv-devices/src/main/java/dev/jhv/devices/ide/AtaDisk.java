package dev.jhv.devices.ide;

import dev.jhv.core.block.BlockDevice;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Optional;

/**
 * An ATA hard disk on a {@link BlockDevice} (T13 ATA/ATAPI-7 command set for a non-packet device): PIO and
 * multiword/Ultra DMA reads and writes in CHS, 28-bit and 48-bit LBA addressing, as QEMU's ide-hd offers them.
 * Addresses and counts come from the guest: one beyond the disk ends the command with IDNF, never an exception.
 */
public final class AtaDisk extends IdeDrive {
    static final int SECTOR = 512;
    /** Largest SET MULTIPLE MODE block (IDENTIFY word 47). */
    static final int MAX_MULTIPLE = 16;
    private static final int DMA_CHUNK_SECTORS = TaskFile.BUFFER_SIZE / SECTOR;
    private static final System.Logger LOG = System.getLogger(AtaDisk.class.getName());

    private final BlockDevice disk;
    private final String serial;
    private final String model;
    private final String firmware;
    private final long sectors;
    private final int cylinders;
    private final int heads;
    private final int sectorsPerTrack;
    private boolean ioErrorLogged;

    /** A disk with jhv's identity strings ("JHV HARDDISK", serial "JHV00001"). */
    public AtaDisk(BlockDevice disk) {
        this(disk, "JHV00001", "JHV HARDDISK", "0.1");
    }

    /** A disk with its IDENTIFY strings (serial up to 20, model up to 40, firmware up to 8 characters). */
    public AtaDisk(BlockDevice disk, String serial, String model, String firmware) {
        this.disk = Objects.requireNonNull(disk, "disk");
        this.serial = serial;
        this.model = model;
        this.firmware = firmware;
        this.sectors = disk.size() / SECTOR;
        // The usual translation for IDE disks: 16 heads, 63 sectors per track, at most 16383 cylinders.
        this.heads = 16;
        this.sectorsPerTrack = 63;
        this.cylinders = (int) Math.max(1, Math.min(sectors / (heads * sectorsPerTrack), 16383));
    }

    @Override
    String kind() {
        return "hd";
    }

    @Override
    boolean packetDevice() {
        return false;
    }

    @Override
    public Optional<BlockDevice> blockDevice() {
        return Optional.of(disk);
    }

    /** Capacity in 512-byte sectors. */
    public long sectors() {
        return sectors;
    }

    @Override
    void reset(TaskFile tf) {
        tf.heads = heads;
        tf.sectorsPerTrack = sectorsPerTrack;
        tf.multSectors = MAX_MULTIPLE;
    }

    @Override
    void execute(TaskFile tf, int cmd) {
        tf.command = cmd;
        tf.lba48 = switch (cmd) {
            case Ata.READ_SECTORS_EXT, Ata.READ_DMA_EXT, Ata.READ_MULTIPLE_EXT, Ata.WRITE_SECTORS_EXT,
                 Ata.WRITE_DMA_EXT, Ata.WRITE_MULTIPLE_EXT, Ata.READ_VERIFY_EXT -> true;
            default -> false;
        };
        switch (cmd) {
            case Ata.IDENTIFY_DEVICE -> {
                identify(tf, tf.buffer);
                tf.pos = 0;
                tf.end = SECTOR;
                tf.transfer = Transfer.PIO_IN;
                tf.status = Ata.DRDY | Ata.DSC | Ata.DRQ;
                interrupt();
            }
            case Ata.READ_SECTORS, Ata.READ_SECTORS_NORETRY, Ata.READ_SECTORS_EXT -> startRead(tf);
            case Ata.READ_MULTIPLE, Ata.READ_MULTIPLE_EXT -> {
                if (tf.multSectors == 0) {
                    finishError(tf, Ata.ABRT);
                } else {
                    startRead(tf);
                }
            }
            case Ata.WRITE_SECTORS, Ata.WRITE_SECTORS_NORETRY, Ata.WRITE_SECTORS_EXT -> startWrite(tf);
            case Ata.WRITE_MULTIPLE, Ata.WRITE_MULTIPLE_EXT -> {
                if (tf.multSectors == 0) {
                    finishError(tf, Ata.ABRT);
                } else {
                    startWrite(tf);
                }
            }
            case Ata.READ_DMA, Ata.READ_DMA_NORETRY, Ata.READ_DMA_EXT -> startDma(tf, false);
            case Ata.WRITE_DMA, Ata.WRITE_DMA_NORETRY, Ata.WRITE_DMA_EXT -> startDma(tf, true);
            case Ata.READ_VERIFY, Ata.READ_VERIFY_NORETRY, Ata.READ_VERIFY_EXT -> {
                if (open(tf, false)) {
                    tf.setAddress(tf.lba + tf.remaining - 1);
                    tf.remaining = 0;
                    finishOk(tf);
                }
            }
            case Ata.FLUSH_CACHE, Ata.FLUSH_CACHE_EXT -> {
                try {
                    disk.flush();
                    finishOk(tf);
                } catch (IOException e) {
                    ioError(e);
                    finishError(tf, Ata.ABRT);
                }
            }
            case Ata.SET_FEATURES -> setFeatures(tf);
            case Ata.SET_MULTIPLE_MODE -> {
                int n = tf.nsector;
                if (n > MAX_MULTIPLE || (n & (n - 1)) != 0) {
                    finishError(tf, Ata.ABRT);
                } else {
                    tf.multSectors = n;
                    finishOk(tf);
                }
            }
            case Ata.INITIALIZE_DEVICE_PARAMETERS -> {
                if (tf.nsector == 0) {
                    finishError(tf, Ata.ABRT);
                } else {
                    tf.sectorsPerTrack = tf.nsector;
                    tf.heads = (tf.select & 0x0f) + 1;
                    finishOk(tf);
                }
            }
            case Ata.CHECK_POWER_MODE -> {
                tf.nsector = 0xff; // active or idle
                finishOk(tf);
            }
            case Ata.STANDBY_IMMEDIATE, Ata.IDLE_IMMEDIATE, Ata.STANDBY, Ata.IDLE, Ata.SLEEP -> finishOk(tf);
            default -> {
                if ((cmd & 0xf0) == Ata.RECALIBRATE || (cmd & 0xf0) == Ata.SEEK) {
                    finishOk(tf);
                } else {
                    finishError(tf, Ata.ABRT); // DEVICE RESET, PACKET, IDENTIFY PACKET DEVICE, unknown
                }
            }
        }
    }

    private boolean outOfRange(long lba, long count) {
        return lba < 0 || lba + count > sectors;
    }

    private void finishOk(TaskFile tf) {
        tf.error = 0;
        tf.complete(Ata.DRDY | Ata.DSC);
        interrupt();
    }

    private void finishError(TaskFile tf, int error) {
        tf.abort(error);
        interrupt();
    }

    private void ioError(IOException e) {
        if (!ioErrorLogged) {
            ioErrorLogged = true;
            LOG.log(System.Logger.Level.WARNING, "{0}: I/O error on {1}: {2}", name(), disk.describe(), e.getMessage());
        }
    }

    private void setFeatures(TaskFile tf) {
        switch (tf.feature) {
            case Ata.SF_ENABLE_WRITE_CACHE -> {
                tf.writeCache = true;
                finishOk(tf);
            }
            case Ata.SF_DISABLE_WRITE_CACHE -> {
                tf.writeCache = false;
                try {
                    disk.flush();
                } catch (IOException e) {
                    ioError(e);
                }
                finishOk(tf);
            }
            case Ata.SF_SET_TRANSFER_MODE -> {
                int mode = tf.nsector;
                int type = mode >>> 3;
                int n = mode & 7;
                boolean valid = switch (type) {
                    case 0 -> n <= 1;              // PIO default mode
                    case 1 -> n <= 4;              // PIO flow control mode n
                    case 4 -> n <= 2;              // multiword DMA mode n
                    case 8 -> n <= 5;              // Ultra DMA mode n
                    default -> false;
                };
                if (!valid) {
                    finishError(tf, Ata.ABRT);
                } else {
                    if (type == 4 || type == 8) {
                        tf.transferMode = mode; // PIO modes keep the DMA mode in words 63 and 88
                    }
                    finishOk(tf);
                }
            }
            default -> {
                if (Ata.harmlessFeature(tf.feature)) {
                    finishOk(tf);
                } else {
                    finishError(tf, Ata.ABRT);
                }
            }
        }
    }

    // ---- PIO ----

    /**
     * Takes the command's address and count into the transfer, or ends the command: ABRT for a write to a
     * read-only disk, IDNF for sectors beyond the disk (or a CHS address that does not exist).
     */
    private boolean open(TaskFile tf, boolean write) {
        long lba = tf.address();
        int n = tf.count();
        if (write && disk.isReadOnly()) {
            finishError(tf, Ata.ABRT);
            return false;
        }
        if (outOfRange(lba, n)) {
            finishError(tf, Ata.IDNF | Ata.ABRT);
            return false;
        }
        tf.lba = lba;
        tf.remaining = n;
        return true;
    }

    /** The block layer failed: logged once, the command ends with {@code error} at the failing sector. */
    private void failIo(TaskFile tf, Exception e, int error) {
        ioError(e instanceof IOException io ? io : new IOException(e));
        tf.setAddress(tf.lba);
        finishError(tf, error);
    }

    private void startRead(TaskFile tf) {
        if (open(tf, false)) {
            nextReadBlock(tf);
        }
    }

    private int perBlock(TaskFile tf) {
        return tf.command == Ata.READ_MULTIPLE || tf.command == Ata.READ_MULTIPLE_EXT
                || tf.command == Ata.WRITE_MULTIPLE || tf.command == Ata.WRITE_MULTIPLE_EXT
                ? Math.max(1, tf.multSectors) : 1;
    }

    private void nextReadBlock(TaskFile tf) {
        int n = Math.min(tf.remaining, perBlock(tf));
        try {
            disk.read(tf.lba * SECTOR, ByteBuffer.wrap(tf.buffer, 0, n * SECTOR));
        } catch (IOException | RuntimeException e) {
            failIo(tf, e, Ata.UNC | Ata.ABRT);
            return;
        }
        tf.lba += n;
        tf.remaining -= n;
        tf.blockSectors = n;
        tf.setAddress(tf.lba - 1);
        tf.pos = 0;
        tf.end = n * SECTOR;
        tf.transfer = Transfer.READ_SECTORS;
        tf.status = Ata.DRDY | Ata.DSC | Ata.DRQ;
        interrupt();
    }

    private void startWrite(TaskFile tf) {
        if (open(tf, true)) {
            openWriteBlock(tf); // PIO data-out: no interrupt before the first block
        }
    }

    private void openWriteBlock(TaskFile tf) {
        int n = Math.min(tf.remaining, perBlock(tf));
        tf.blockSectors = n;
        tf.pos = 0;
        tf.end = n * SECTOR;
        tf.transfer = Transfer.WRITE_SECTORS;
        tf.status = Ata.DRDY | Ata.DSC | Ata.DRQ;
    }

    @Override
    void blockDone(TaskFile tf) {
        switch (tf.transfer) {
            case PIO_IN -> tf.complete(Ata.DRDY | Ata.DSC);
            case READ_SECTORS -> {
                if (tf.remaining == 0) {
                    tf.complete(Ata.DRDY | Ata.DSC); // data-in: no interrupt after the last block
                } else {
                    nextReadBlock(tf);
                }
            }
            case WRITE_SECTORS -> {
                int n = tf.blockSectors;
                try {
                    disk.write(tf.lba * SECTOR, ByteBuffer.wrap(tf.buffer, 0, n * SECTOR));
                    if (!tf.writeCache) {
                        disk.flush();
                    }
                } catch (IOException | RuntimeException e) {
                    failIo(tf, e, Ata.ABRT);
                    return;
                }
                tf.lba += n;
                tf.remaining -= n;
                tf.setAddress(tf.lba - 1);
                if (tf.remaining == 0) {
                    finishOk(tf);
                } else {
                    openWriteBlock(tf);
                    interrupt();
                }
            }
            default -> tf.complete(tf.status & ~Ata.DRQ);
        }
    }

    // ---- DMA ----

    private void startDma(TaskFile tf, boolean write) {
        if (!open(tf, write)) {
            return;
        }
        tf.pos = tf.end = 0;
        tf.transfer = Transfer.DMA;
        tf.status = Ata.DRDY | Ata.DSC | Ata.DRQ;
        requestDma();
    }

    private static boolean isDmaWrite(int cmd) {
        return cmd == Ata.WRITE_DMA || cmd == Ata.WRITE_DMA_NORETRY || cmd == Ata.WRITE_DMA_EXT;
    }

    /**
     * The whole DMA transfer, from the saved position: a command restored from a migration stream restarts here
     * with the registers it had (lba, remaining), as QEMU restarts an in-flight request.
     */
    @Override
    void runDma(TaskFile tf, DmaEngine dma) {
        boolean write = isDmaWrite(tf.command);
        dma.begin();
        while (tf.remaining > 0) {
            int n = Math.min(tf.remaining, DMA_CHUNK_SECTORS);
            int bytes = n * SECTOR;
            var buf = ByteBuffer.wrap(tf.buffer, 0, bytes);
            DmaEngine.Result r = DmaEngine.Result.OK;
            try {
                if (!write) {
                    disk.read(tf.lba * SECTOR, buf);
                    r = dma.transfer(tf.buffer, 0, bytes, true);
                } else {
                    r = dma.transfer(tf.buffer, 0, bytes, false);
                    if (r == DmaEngine.Result.OK) {
                        disk.write(tf.lba * SECTOR, buf);
                        if (!tf.writeCache) {
                            disk.flush();
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                dma.end(DmaEngine.Result.OK);
                failIo(tf, e, write ? Ata.ABRT : Ata.UNC | Ata.ABRT);
                return;
            }
            if (r != DmaEngine.Result.OK) {
                dma.end(r);
                tf.setAddress(tf.lba);
                finishError(tf, Ata.ABRT);
                return;
            }
            tf.lba += n;
            tf.remaining -= n;
        }
        tf.setAddress(tf.lba - 1);
        dma.end(DmaEngine.Result.OK);
        finishOk(tf);
    }

    // ---- IDENTIFY DEVICE ----

    /** The 256 IDENTIFY DEVICE words, as the current settings of {@code tf} make them. */
    void identify(TaskFile tf, byte[] p) {
        java.util.Arrays.fill(p, 0, SECTOR, (byte) 0);
        Ata.putWord(p, 0, 0x0040);                              // fixed device
        Ata.putWord(p, 1, cylinders);
        Ata.putWord(p, 3, heads);
        Ata.putWord(p, 4, SECTOR * sectorsPerTrack);            // obsolete: bytes per track
        Ata.putWord(p, 5, SECTOR);                              // obsolete: bytes per sector
        Ata.putWord(p, 6, sectorsPerTrack);
        Ata.putString(p, 10, 20, serial);
        Ata.putWord(p, 20, 3);                                  // obsolete: buffer type
        Ata.putWord(p, 21, SECTOR);                             // obsolete: buffer size
        Ata.putWord(p, 22, 4);                                  // obsolete: ECC bytes
        Ata.putString(p, 23, 8, firmware);
        Ata.putString(p, 27, 40, model);
        Ata.putWord(p, 47, 0x8000 | MAX_MULTIPLE);
        Ata.putWord(p, 48, 1);                                  // 32-bit PIO (vendor specific, as QEMU)
        Ata.putWord(p, 49, (1 << 11) | (1 << 9) | (1 << 8));    // IORDY, LBA, DMA
        Ata.putWord(p, 50, 0x4000);
        Ata.putWord(p, 51, 0x200);                              // PIO timing
        Ata.putWord(p, 52, 0x200);
        Ata.putWord(p, 53, 1 | 2 | 4);                          // words 54-58, 64-70 and 88 valid
        long chs = (long) tf.heads * tf.sectorsPerTrack == 0 ? 0
                : Math.min(sectors / ((long) tf.heads * tf.sectorsPerTrack), 65535);
        long currentCapacity = chs * tf.heads * tf.sectorsPerTrack;
        Ata.putWord(p, 54, (int) chs);
        Ata.putWord(p, 55, tf.heads);
        Ata.putWord(p, 56, tf.sectorsPerTrack);
        Ata.putWord(p, 57, (int) currentCapacity);
        Ata.putWord(p, 58, (int) (currentCapacity >>> 16));
        Ata.putWord(p, 59, tf.multSectors == 0 ? 0 : 0x100 | tf.multSectors);
        long lba28 = Math.min(sectors, 0x0fffffffL);
        Ata.putWord(p, 60, (int) lba28);
        Ata.putWord(p, 61, (int) (lba28 >>> 16));
        Ata.putWord(p, 62, 0x07);                               // single-word DMA 0-2 (obsolete)
        int mw = (tf.transferMode >>> 3) == 4 ? 1 << (8 + (tf.transferMode & 7)) : 0;
        int udma = (tf.transferMode >>> 3) == 8 ? 1 << (8 + (tf.transferMode & 7)) : 0;
        Ata.putWord(p, 63, 0x07 | mw);                          // multiword DMA 0-2 supported, selected
        Ata.putWord(p, 64, 0x03);                               // PIO 3 and 4
        Ata.putWord(p, 65, 120);
        Ata.putWord(p, 66, 120);
        Ata.putWord(p, 67, 120);
        Ata.putWord(p, 68, 120);
        Ata.putWord(p, 80, 0xf0);                               // ATA-4 to ATA-7
        Ata.putWord(p, 81, 0x16);
        Ata.putWord(p, 82, (1 << 14) | (1 << 5));               // NOP... write cache supported
        Ata.putWord(p, 83, (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10)); // FLUSH CACHE (EXT), 48-bit
        Ata.putWord(p, 84, 1 << 14);
        Ata.putWord(p, 85, (1 << 14) | (tf.writeCache ? 1 << 5 : 0));
        Ata.putWord(p, 86, (1 << 13) | (1 << 12) | (1 << 10));
        Ata.putWord(p, 87, 1 << 14);
        Ata.putWord(p, 88, 0x3f | udma);                        // Ultra DMA 0-5 supported, selected
        Ata.putWord(p, 93, 1 | (1 << 14) | (1 << 13));          // reset results; 80-conductor cable
        Ata.putWord(p, 100, (int) sectors);
        Ata.putWord(p, 101, (int) (sectors >>> 16));
        Ata.putWord(p, 102, (int) (sectors >>> 32));
        Ata.putWord(p, 103, (int) (sectors >>> 48));
    }
}
