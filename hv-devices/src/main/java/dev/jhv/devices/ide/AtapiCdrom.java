package dev.jhv.devices.ide;

import dev.jhv.core.block.BlockDevice;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;

/**
 * An ATAPI CD/DVD-ROM drive (T13 ATA/ATAPI-7 packet protocol, MMC-3/SPC-3 commands) with a removable medium of
 * 2048-byte blocks, or none. Commands arrive as 12-byte packets through PACKET; data goes to the guest in DRQ
 * blocks no larger than the byte-count limit the guest put in the cylinder registers, or by DMA. The monitor's
 * {@code eject} and {@code change} act through {@link #eject} and {@link #insert}.
 */
public final class AtapiCdrom extends IdeDrive {
    static final int BLOCK = 2048;
    /** Above this many blocks a medium is a DVD (QEMU's rule: more than 80 minutes of CD). */
    static final long CD_MAX_BLOCKS = 80L * 60 * 75;
    private static final int CHUNK_BLOCKS = TaskFile.BUFFER_SIZE / BLOCK;
    private static final System.Logger LOG = System.getLogger(AtapiCdrom.class.getName());

    // Sense keys and additional sense codes (SPC-3 / MMC-3).
    static final int NO_SENSE = 0, NOT_READY = 2, MEDIUM_ERROR = 3, ILLEGAL_REQUEST = 5, UNIT_ATTENTION = 6;
    static final int ASC_INVALID_COMMAND = 0x20, ASC_LBA_OUT_OF_RANGE = 0x21, ASC_INVALID_FIELD = 0x24;
    static final int ASC_MEDIUM_CHANGED = 0x28, ASC_SAVING_NOT_SUPPORTED = 0x39, ASC_MEDIUM_NOT_PRESENT = 0x3a;
    static final int ASC_REMOVAL_PREVENTED = 0x53, ASC_UNRECOVERED_READ = 0x11;

    // GET EVENT STATUS NOTIFICATION media event codes.
    static final int EVENT_NONE = 0, EVENT_EJECT_REQUEST = 1, EVENT_NEW_MEDIA = 2, EVENT_MEDIA_REMOVAL = 3;

    private BlockDevice media;
    private final String serial;
    private final String model;
    private final String firmware;
    private boolean ioErrorLogged;

    /** A drive with {@code media} (read-only, 2048-byte blocks) inserted, or empty when null. */
    public AtapiCdrom(BlockDevice media) {
        this(media, "JHV00003", "JHV DVD-ROM", "0.1");
    }

    public AtapiCdrom(BlockDevice media, String serial, String model, String firmware) {
        this.media = media;
        this.serial = serial;
        this.model = model;
        this.firmware = firmware;
    }

    @Override
    String kind() {
        return "cd";
    }

    @Override
    boolean packetDevice() {
        return true;
    }

    @Override
    public Optional<BlockDevice> blockDevice() {
        IdeChannel c = channel();
        if (c == null) {
            return Optional.ofNullable(media);
        }
        return c.locked(() -> Optional.ofNullable(media));
    }

    // ---- the monitor's medium operations ----

    /** Whether the guest locked the tray (PREVENT ALLOW MEDIUM REMOVAL). */
    public boolean trayLocked() {
        return channel().locked(() -> taskFile().trayLocked);
    }

    public boolean trayOpen() {
        return channel().locked(() -> taskFile().trayOpen);
    }

    /**
     * Opens the tray and removes the medium ({@code eject}); {@code force} ({@code eject -f}) overrides the guest's
     * lock. A locked tray without force stays closed: the guest is asked to release it (an eject-request event) and
     * the caller gets {@link TrayLockedException}.
     *
     * @return the medium taken out (the caller closes it), if there was one
     */
    public Optional<BlockDevice> eject(boolean force) {
        return channel().locked(() -> {
            TaskFile tf = taskFile();
            if (tf.trayLocked && !force) {
                tf.mediaEvent = EVENT_EJECT_REQUEST;
                throw new TrayLockedException(name());
            }
            BlockDevice old = media;
            media = null;
            tf.trayLocked = false;
            tf.trayOpen = true;
            if (old != null) {
                tf.mediaEvent = EVENT_MEDIA_REMOVAL;
            }
            return Optional.ofNullable(old);
        });
    }

    /**
     * Puts {@code newMedia} in and closes the tray ({@code change}); an old medium is ejected first, which a locked
     * tray refuses as {@link #eject} does. The guest's next command (except INQUIRY, REQUEST SENSE, GET
     * CONFIGURATION and GET EVENT STATUS) gets UNIT ATTENTION, medium may have changed.
     *
     * @return the medium taken out, if there was one
     */
    public Optional<BlockDevice> insert(BlockDevice newMedia) {
        return channel().locked(() -> {
            TaskFile tf = taskFile();
            if (tf.trayLocked && media != null) {
                tf.mediaEvent = EVENT_EJECT_REQUEST;
                throw new TrayLockedException(name());
            }
            BlockDevice old = media;
            media = newMedia;
            tf.trayOpen = false;
            tf.mediaChanged = true;
            tf.senseKey = UNIT_ATTENTION;
            tf.asc = ASC_MEDIUM_CHANGED;
            tf.ascq = 0;
            tf.mediaEvent = EVENT_NEW_MEDIA;
            return Optional.ofNullable(old);
        });
    }

    private long blocks() {
        return media == null ? 0 : media.size() / BLOCK;
    }

    private boolean ready(TaskFile tf) {
        return media != null && !tf.trayOpen;
    }

    // ---- ATA commands ----

    @Override
    void reset(TaskFile tf) {
        tf.lba48 = false;
    }

    @Override
    void execute(TaskFile tf, int cmd) {
        tf.command = cmd;
        tf.lba48 = false;
        switch (cmd) {
            case Ata.PACKET -> {
                tf.byteLimit = tf.hcyl << 8 | tf.lcyl;
                tf.pos = 0;
                tf.end = 12;
                tf.transfer = Transfer.PACKET;
                tf.nsector = (tf.nsector & ~7) | 1;        // CoD: the device wants a command
                tf.status = Ata.DRDY | Ata.DSC | Ata.DRQ; // no interrupt: DRQ within 50 us (IDENTIFY word 0)
            }
            case Ata.IDENTIFY_PACKET_DEVICE -> {
                identify(tf.buffer);
                tf.pos = 0;
                tf.end = 512;
                tf.transfer = Transfer.PIO_IN;
                tf.status = Ata.DRDY | Ata.DSC | Ata.DRQ;
                interrupt();
            }
            case Ata.DEVICE_RESET -> {
                tf.signature(true);
                tf.error = 0x01;
                tf.complete(0);   // no interrupt, DRDY clear, as the packet protocol has it
            }
            case Ata.SET_FEATURES, Ata.CHECK_POWER_MODE, Ata.IDLE_IMMEDIATE, Ata.STANDBY_IMMEDIATE, Ata.SLEEP -> {
                if (cmd == Ata.CHECK_POWER_MODE) {
                    tf.nsector = 0xff;
                }
                tf.error = 0;
                tf.complete(Ata.DRDY | Ata.DSC);
                interrupt();
            }
            default -> {
                // IDENTIFY DEVICE and every other ATA command: aborted, the packet signature in the registers
                tf.signature(true);
                tf.abort(Ata.ABRT);
                tf.status = Ata.DRDY | Ata.ERR;
                interrupt();
            }
        }
    }

    @Override
    void blockDone(TaskFile tf) {
        switch (tf.transfer) {
            case PIO_IN -> tf.complete(Ata.DRDY | Ata.DSC);
            case PACKET -> packet(tf, Arrays.copyOf(tf.buffer, 12));
            case ATAPI_IN -> nextDataBlock(tf);
            default -> tf.complete(tf.status & ~Ata.DRQ);
        }
    }

    // ---- completion ----

    private void ok(TaskFile tf) {
        tf.senseKey = NO_SENSE;
        tf.asc = 0;
        tf.ascq = 0;
        tf.error = 0;
        tf.complete(Ata.DRDY | Ata.DSC);
        tf.nsector = (tf.nsector & ~7) | 3; // I/O and CoD: status phase
        interrupt();
    }

    private void checkCondition(TaskFile tf, int key, int asc, int ascq) {
        tf.senseKey = key;
        tf.asc = asc;
        tf.ascq = ascq;
        tf.error = key << 4 | Ata.ABRT;
        tf.complete(Ata.DRDY | Ata.ERR);
        tf.nsector = (tf.nsector & ~7) | 3;
        interrupt();
    }

    /** Sends {@code len} bytes of reply (cut to the allocation length) to the guest. */
    private void reply(TaskFile tf, byte[] data, int len, int allocation) {
        int n = Math.min(len, allocation);
        System.arraycopy(data, 0, tf.buffer, 0, n);
        tf.remaining = 0;
        tf.atapiLeft = n;
        startData(tf);
    }

    private void startData(TaskFile tf) {
        tf.senseKey = NO_SENSE;
        tf.asc = tf.ascq = 0;
        if ((tf.feature & 1) != 0) {
            tf.transfer = Transfer.ATAPI_DMA;
            tf.status = Ata.DRDY | Ata.DSC | Ata.DRQ;
            requestDma();
            return;
        }
        tf.pos = tf.end = 0;
        nextDataBlock(tf);
    }

    /** The next DRQ block of reply data, read on from the medium when the buffer is used up; or the end. */
    private void nextDataBlock(TaskFile tf) {
        if (tf.atapiLeft == 0 && tf.remaining > 0) {
            if (!fillFromMedium(tf)) {
                return;
            }
            tf.pos = tf.end = 0;
        }
        if (tf.atapiLeft == 0) {
            ok(tf);
            return;
        }
        int limit = tf.byteLimit == 0 || tf.byteLimit == 0xffff ? 0xfffe : tf.byteLimit;
        int size = tf.atapiLeft <= limit ? tf.atapiLeft : limit & ~1;
        tf.pos = tf.end;
        tf.end = tf.pos + size;
        tf.atapiLeft -= size;
        tf.lcyl = size & 0xff;
        tf.hcyl = size >>> 8;
        tf.nsector = (tf.nsector & ~7) | 2; // I/O: data to the host
        tf.transfer = Transfer.ATAPI_IN;
        tf.status = Ata.DRDY | Ata.DSC | Ata.DRQ;
        interrupt();
    }

    /** Reads up to a buffer of blocks at tf.lba; false (and the command ended) on a read error. */
    private boolean fillFromMedium(TaskFile tf) {
        int n = Math.min(tf.remaining, CHUNK_BLOCKS);
        if (!ready(tf)) {
            checkCondition(tf, NOT_READY, ASC_MEDIUM_NOT_PRESENT, 0);
            return false;
        }
        try {
            media.read(tf.lba * BLOCK, ByteBuffer.wrap(tf.buffer, 0, n * BLOCK));
        } catch (IOException | RuntimeException e) {
            if (!ioErrorLogged) {
                ioErrorLogged = true;
                LOG.log(System.Logger.Level.WARNING, "{0}: read error on {1}: {2}", name(), media.describe(),
                        e.getMessage());
            }
            checkCondition(tf, MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
            return false;
        }
        tf.lba += n;
        tf.remaining -= n;
        tf.atapiLeft = n * BLOCK;
        return true;
    }

    @Override
    void runDma(TaskFile tf, DmaEngine dma) {
        dma.begin();
        int offset = 0;
        while (true) {
            if (tf.atapiLeft == 0 && tf.remaining > 0) {
                if (!fillFromMedium(tf)) {
                    dma.end(DmaEngine.Result.OK);
                    return;
                }
                offset = 0;
            }
            if (tf.atapiLeft == 0) {
                break;
            }
            DmaEngine.Result r = dma.transfer(tf.buffer, offset, tf.atapiLeft, true);
            if (r != DmaEngine.Result.OK) {
                dma.end(r);
                tf.atapiLeft = tf.remaining = 0;
                checkCondition(tf, ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
                tf.error = Ata.ABRT | ILLEGAL_REQUEST << 4;
                return;
            }
            offset += tf.atapiLeft;
            tf.atapiLeft = 0;
        }
        dma.end(DmaEngine.Result.OK);
        ok(tf);
    }

    // ---- SCSI/MMC commands ----

    private static int be16(byte[] p, int i) {
        return (p[i] & 0xff) << 8 | (p[i + 1] & 0xff);
    }

    private static long be32(byte[] p, int i) {
        return (long) be16(p, i) << 16 | be16(p, i + 2);
    }

    private static void put16(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 8);
        b[i + 1] = (byte) v;
    }

    private static void put32(byte[] b, int i, long v) {
        put16(b, i, (int) (v >>> 16));
        put16(b, i + 2, (int) v);
    }

    /** Commands that run despite a pending UNIT ATTENTION (SPC-3, and QEMU's choice). */
    private static boolean allowedWithUnitAttention(int op) {
        return op == 0x12 || op == 0x03 || op == 0x46 || op == 0x4a;
    }

    /** Commands that need a medium in the closed tray. */
    private static boolean needsMedium(int op) {
        return switch (op) {
            case 0x00, 0x25, 0x28, 0xa8, 0x43, 0x51, 0x2b, 0xbe, 0xb9 -> true;
            default -> false;
        };
    }

    private void packet(TaskFile tf, byte[] p) {
        int op = p[0] & 0xff;
        if (tf.mediaChanged && !allowedWithUnitAttention(op)) {
            tf.mediaChanged = false;
            checkCondition(tf, UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
            return;
        }
        if (needsMedium(op) && !ready(tf)) {
            checkCondition(tf, NOT_READY, ASC_MEDIUM_NOT_PRESENT, 0);
            return;
        }
        byte[] out = new byte[256];
        switch (op) {
            case 0x00 -> ok(tf); // TEST UNIT READY
            case 0x03 -> { // REQUEST SENSE
                out[0] = (byte) 0x70;
                out[2] = (byte) tf.senseKey;
                out[7] = 10;
                out[12] = (byte) tf.asc;
                out[13] = (byte) tf.ascq;
                tf.mediaChanged = false;
                reply(tf, out, 18, p[4] & 0xff);
            }
            case 0x12 -> { // INQUIRY
                out[0] = 0x05;          // CD/DVD device
                out[1] = (byte) 0x80;   // removable
                out[2] = 0x00;
                out[3] = 0x21;          // ATAPI, response data format 1
                out[4] = 31;
                putAscii(out, 8, 8, "JHV");
                putAscii(out, 16, 16, model);
                putAscii(out, 32, 4, firmware);
                reply(tf, out, 36, be16(p, 3));
            }
            case 0x25 -> { // READ CAPACITY
                put32(out, 0, blocks() - 1);
                put32(out, 4, BLOCK);
                reply(tf, out, 8, 8);
            }
            case 0x28 -> read(tf, be32(p, 2), be16(p, 7));
            case 0xa8 -> read(tf, be32(p, 2), be32(p, 6));
            case 0x2b -> { // SEEK(10)
                if (be32(p, 2) >= blocks()) {
                    checkCondition(tf, ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
                } else {
                    ok(tf);
                }
            }
            case 0x43 -> readToc(tf, p, out);
            case 0x1a, 0x5a -> modeSense(tf, p, op == 0x5a);
            case 0x46 -> getConfiguration(tf, p, out);
            case 0x4a -> eventStatus(tf, p, out);
            case 0x1b -> startStop(tf, p);
            case 0x1e -> { // PREVENT ALLOW MEDIUM REMOVAL
                tf.trayLocked = (p[4] & 1) != 0;
                ok(tf);
            }
            case 0x51 -> { // READ DISC INFORMATION
                if ((p[1] & 7) != 0) {
                    checkCondition(tf, ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
                    return;
                }
                put16(out, 0, 32);
                out[2] = 0x0e;   // complete disc, last session complete
                out[3] = 1;      // first track on disc
                out[4] = 1;      // sessions
                out[5] = 1;      // first track in last session
                out[6] = 1;      // last track in last session
                out[7] = 0x20;   // unrestricted use
                reply(tf, out, 34, be16(p, 7));
            }
            case 0xbd -> { // MECHANISM STATUS
                out[1] = (byte) (tf.trayOpen ? 0x10 : 0);
                reply(tf, out, 8, be16(p, 8));
            }
            case 0xbb -> ok(tf); // SET CD SPEED: one speed
            default -> checkCondition(tf, ILLEGAL_REQUEST, ASC_INVALID_COMMAND, 0);
        }
    }

    private static void putAscii(byte[] b, int at, int len, String s) {
        for (int i = 0; i < len; i++) {
            b[at + i] = (byte) (i < s.length() ? s.charAt(i) : ' ');
        }
    }

    private void read(TaskFile tf, long lba, long count) {
        if (lba + count > blocks()) {
            checkCondition(tf, ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
            return;
        }
        if (count == 0) {
            ok(tf);
            return;
        }
        tf.lba = lba;
        tf.remaining = (int) count;
        tf.atapiLeft = 0;
        startData(tf);
    }

    private static void msf(byte[] b, int at, long lba) {
        long f = lba + 150;
        b[at] = 0;
        b[at + 1] = (byte) (f / (75 * 60));
        b[at + 2] = (byte) (f / 75 % 60);
        b[at + 3] = (byte) (f % 75);
    }

    private void address(byte[] b, int at, long lba, boolean msf) {
        if (msf) {
            msf(b, at, lba);
        } else {
            put32(b, at, lba);
        }
    }

    private void readToc(TaskFile tf, byte[] p, byte[] out) {
        boolean msf = (p[1] & 2) != 0;
        int format = p[2] & 0x0f;
        if (format == 0 && (p[9] & 0xc0) != 0) {
            format = (p[9] & 0xff) >>> 6; // the older SFF-8020 place for the format
        }
        int start = p[6] & 0xff;
        int alloc = be16(p, 7);
        switch (format) {
            case 0 -> {
                if (start > 1 && start != 0xaa) {
                    checkCondition(tf, ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
                    return;
                }
                int n = 4;
                out[2] = 1;
                out[3] = 1;
                if (start <= 1) {
                    out[n + 1] = 0x14;   // ADR 1, data track
                    out[n + 2] = 1;
                    address(out, n + 4, 0, msf);
                    n += 8;
                }
                out[n + 1] = 0x14;
                out[n + 2] = (byte) 0xaa; // lead-out
                address(out, n + 4, blocks(), msf);
                n += 8;
                put16(out, 0, n - 2);
                reply(tf, out, n, alloc);
            }
            case 1 -> { // multi-session information: one session
                put16(out, 0, 10);
                out[2] = 1;
                out[3] = 1;
                out[5] = 0x14;
                out[6] = 1;
                address(out, 8, 0, msf);
                reply(tf, out, 12, alloc);
            }
            default -> checkCondition(tf, ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        }
    }

    private static final byte[] PAGE_ERROR_RECOVERY = {0x01, 0x06, 0x00, 0x05, 0, 0, 0, 0};
    private static final byte[] PAGE_CD_PARAMETERS = {0x0d, 0x06, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x4b};
    private static final byte[] PAGE_CD_AUDIO = {0x0e, 0x0e, 0x04, 0, 0, 0, 0, 0,
            0x01, (byte) 0xff, 0x02, (byte) 0xff, 0, 0, 0, 0};

    private byte[] capabilitiesPage(TaskFile tf) {
        byte[] b = new byte[20];
        b[0] = 0x2a;
        b[1] = 0x12;
        b[2] = 0x3b;                                   // reads CD-R, CD-RW, DVD-ROM, DVD-R, DVD-RAM
        b[3] = 0x00;                                   // writes none
        b[4] = 0x71;                                   // audio play, composite, digital ports, multisession
        b[5] = (byte) 0xff;                            // CD-DA, accurate stream, R-W, C2, ISRC, UPC
        b[6] = (byte) (0x29 | (tf.trayLocked ? 0x02 : 0)); // lock, eject, tray loader; lock state
        b[7] = 0x00;
        put16(b, 8, 706);                              // maximum speed, kB/s (4x)
        put16(b, 10, 2);                               // volume levels
        put16(b, 12, 512);                             // buffer size, KiB
        put16(b, 14, 706);                             // current speed
        return b;
    }

    private void modeSense(TaskFile tf, byte[] p, boolean ten) {
        int pc = (p[2] & 0xff) >>> 6;
        int page = p[2] & 0x3f;
        int alloc = ten ? be16(p, 7) : p[4] & 0xff;
        if (pc == 3) {
            checkCondition(tf, ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0);
            return;
        }
        var body = new java.io.ByteArrayOutputStream();
        switch (page) {
            case 0x01 -> body.writeBytes(PAGE_ERROR_RECOVERY);
            case 0x0d -> body.writeBytes(PAGE_CD_PARAMETERS);
            case 0x0e -> body.writeBytes(PAGE_CD_AUDIO);
            case 0x2a -> body.writeBytes(capabilitiesPage(tf));
            case 0x3f -> {
                body.writeBytes(PAGE_ERROR_RECOVERY);
                body.writeBytes(PAGE_CD_PARAMETERS);
                body.writeBytes(PAGE_CD_AUDIO);
                body.writeBytes(capabilitiesPage(tf));
            }
            default -> {
                checkCondition(tf, ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
                return;
            }
        }
        byte[] pages = body.toByteArray();
        if (pc == 1) { // changeable values: none
            for (int i = 0; i < pages.length; ) {
                int len = pages[i + 1] & 0xff;
                Arrays.fill(pages, i + 2, i + 2 + len, (byte) 0);
                i += 2 + len;
            }
        }
        int header = ten ? 8 : 4;
        byte[] out = new byte[header + pages.length];
        int mediumType = media == null ? 0x70 : 0x01; // door closed no disc / 120 mm data disc
        if (ten) {
            put16(out, 0, out.length - 2);
            out[2] = (byte) mediumType;
        } else {
            out[0] = (byte) (out.length - 1);
            out[1] = (byte) mediumType;
        }
        System.arraycopy(pages, 0, out, header, pages.length);
        reply(tf, out, out.length, alloc);
    }

    /** The current MMC profile: DVD-ROM (0x10) or CD-ROM (0x08) by the medium's size, none (0) when empty. */
    private int currentProfile(TaskFile tf) {
        if (!ready(tf)) {
            return 0;
        }
        return blocks() > CD_MAX_BLOCKS ? 0x0010 : 0x0008;
    }

    private void getConfiguration(TaskFile tf, byte[] p, byte[] out) {
        int rt = p[1] & 3;
        int startFeature = be16(p, 2);
        int profile = currentProfile(tf);
        int n = 8;
        put16(out, 6, profile);
        if (startFeature <= 0x0000 || rt == 2 && startFeature == 0x0000) {
            put16(out, n, 0x0000);      // profile list
            out[n + 2] = 0x03;          // persistent, current
            out[n + 3] = 8;
            put16(out, n + 4, 0x0010);
            out[n + 6] = (byte) (profile == 0x0010 ? 1 : 0);
            put16(out, n + 8, 0x0008);
            out[n + 10] = (byte) (profile == 0x0008 ? 1 : 0);
            n += 12;
        }
        if (rt != 2 && startFeature <= 0x0001 || rt == 2 && startFeature == 0x0001) {
            put16(out, n, 0x0001);      // core
            out[n + 2] = 0x0b;          // version 2, persistent, current
            out[n + 3] = 8;
            put32(out, n + 4, 2);       // physical interface: ATAPI
            out[n + 8] = 1;             // device busy event
            n += 12;
        }
        if (rt != 2 && startFeature <= 0x0003 || rt == 2 && startFeature == 0x0003) {
            put16(out, n, 0x0003);      // removable medium
            out[n + 2] = 0x03;
            out[n + 3] = 4;
            out[n + 4] = (byte) (0x29 | (tf.trayLocked ? 0x02 : 0)); // tray, eject, lock
            n += 8;
        }
        put32(out, 0, n - 4);
        reply(tf, out, n, be16(p, 7));
    }

    private void eventStatus(TaskFile tf, byte[] p, byte[] out) {
        if ((p[1] & 1) == 0) { // asynchronous notification is not supported
            checkCondition(tf, ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            return;
        }
        int classes = p[4] & 0xff;
        int n;
        out[3] = 0x10; // supported classes: media
        if ((classes & 0x10) != 0) {
            out[2] = 0x04; // media class
            out[4] = (byte) tf.mediaEvent;
            out[5] = (byte) ((tf.trayOpen ? 1 : 0) | (media != null ? 2 : 0));
            tf.mediaEvent = EVENT_NONE;
            n = 8;
        } else {
            out[2] = (byte) 0x80; // no event available
            n = 4;
        }
        put16(out, 0, n - 4);
        reply(tf, out, n, be16(p, 7));
    }

    private void startStop(TaskFile tf, byte[] p) {
        boolean loej = (p[4] & 2) != 0;
        boolean start = (p[4] & 1) != 0;
        if (loej && !start) {
            if (tf.trayLocked) {
                checkCondition(tf, NOT_READY, ASC_REMOVAL_PREVENTED, 2);
                return;
            }
            tf.trayOpen = true; // the medium stays on the tray and comes back when it closes
        } else if (loej) {
            tf.trayOpen = false;
        }
        ok(tf);
    }

    // ---- IDENTIFY PACKET DEVICE ----

    void identify(byte[] p) {
        Arrays.fill(p, 0, 512, (byte) 0);
        Ata.putWord(p, 0, (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5)); // ATAPI, CD-ROM, removable, 50us DRQ, 12-byte packets
        Ata.putString(p, 10, 20, serial);
        Ata.putWord(p, 20, 3);
        Ata.putWord(p, 21, 512);
        Ata.putWord(p, 22, 4);
        Ata.putString(p, 23, 8, firmware);
        Ata.putString(p, 27, 40, model);
        Ata.putWord(p, 48, 1);
        Ata.putWord(p, 49, (1 << 9) | (1 << 8));     // LBA, DMA
        Ata.putWord(p, 53, 7);
        Ata.putWord(p, 62, 7);
        Ata.putWord(p, 63, 7);
        Ata.putWord(p, 64, 3);
        Ata.putWord(p, 65, 0xb4);
        Ata.putWord(p, 66, 0xb4);
        Ata.putWord(p, 67, 0x12c);
        Ata.putWord(p, 68, 0xb4);
        Ata.putWord(p, 71, 30);
        Ata.putWord(p, 72, 30);
        Ata.putWord(p, 80, 0x1e);                    // ATA/ATAPI-1 to -4
        Ata.putWord(p, 88, 0x3f);
        Ata.putWord(p, 93, 1 | (1 << 14) | (1 << 13));
    }
}
