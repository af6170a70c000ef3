package dev.jhv.devices.ide;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.irq.IrqLine;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.core.vmstate.ScalarType;

import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * One IDE channel (ATA/ATAPI-7 parallel interface): the command block (8 ports: data, error/features, sector
 * count, LBA low/mid/high, device, status/command), the control block (alternate status / device control), two
 * drive positions and the channel's INTRQ. The board registers {@link #commandBlock()} and {@link #controlBlock()}
 * at the legacy addresses (0x1F0/0x3F6 with IRQ 14, 0x170/0x376 with IRQ 15) or where the PCI function puts them.
 *
 * <p>INTRQ is asserted when a drive finishes a command or offers a DRQ block, unless nIEN is set; reading the status
 * register (not the alternate status) or writing a command clears it. A position without a drive reads status 0
 * (and an empty channel 0 everywhere), and ignores commands, as QEMU's PIIX channel does.
 */
public final class IdeChannel implements Stateful<IdeChannel.State> {
    public static final int PRIMARY_COMMAND_BASE = 0x1f0;
    public static final int PRIMARY_CONTROL_BASE = 0x3f6;
    public static final int SECONDARY_COMMAND_BASE = 0x170;
    public static final int SECONDARY_CONTROL_BASE = 0x376;
    public static final int PRIMARY_IRQ = 14;
    public static final int SECONDARY_IRQ = 15;
    public static final int COMMAND_BLOCK_LENGTH = 8;
    public static final int CONTROL_BLOCK_LENGTH = 1;

    private static final System.Logger LOG = System.getLogger(IdeChannel.class.getName());

    /** One drive position's registers and transfer, as QEMU's "ide_drive". */
    public record Drive(int feature, int hobFeature, int nsector, int hobNsector, int sector, int hobSector,
                        int lcyl, int hobLcyl, int hcyl, int hobHcyl, int select, int status, int error, int command,
                        boolean lba48, int multSectors, int heads, int sectorsPerTrack, int transferMode,
                        boolean writeCache, int endTransfer, byte[] ioBuffer, int curIoBufferOffset,
                        int curIoBufferLen, long lba, int remaining, int blockSectors, int atapiLeft, int byteLimit,
                        int senseKey, int asc, int ascq, boolean trayOpen, boolean trayLocked, boolean cdromChanged,
                        int mediaEvent) { }

    /** The channel: device control (QEMU's ide_bus "cmd"), the pending interrupt, and both positions. */
    public record State(int cmd, boolean irqPending, Drive drive0, Drive drive1) { }

    private static final RecordDescription<Drive> DRIVE = RecordDescription.part(Drive.class, "ide_drive", 1)
            .u8("feature").u8("hob_feature")
            .u8("nsector").u8("hob_nsector")
            .u8("sector").u8("hob_sector")
            .u8("lcyl").u8("hob_lcyl")
            .u8("hcyl").u8("hob_hcyl")
            .u8("select").u8("status").u8("error").u8("command")
            .bool("lba48")
            .u8("mult_sectors").u8("heads").u8("sectors_per_track").u8("transfer_mode")
            .bool("write_cache")
            .u8("end_transfer")
            .lengthOf("io_buffer_total_len", ScalarType.U32, "ioBuffer")
            .vbuffer("io_buffer", "io_buffer_total_len", TaskFile.BUFFER_SIZE, "ioBuffer")
            .u32("cur_io_buffer_offset").u32("cur_io_buffer_len")
            .u64("lba").u32("remaining").u8("block_sectors")
            .u32("atapi_left").u16("byte_limit")
            .u8("sense_key").u8("asc").u8("ascq")
            .bool("tray_open").bool("tray_locked").bool("cdrom_changed")
            .u8("media_event")
            .build();

    /**
     * The channel's section ("ide_bus", instance = channel number). A DMA command the bus master had not yet run
     * is saved with its registers and next sector, and runs when the bus master resumes (QEMU restarts it too).
     */
    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "ide_bus", 1)
            .minimumVersion(1)
            .u8("cmd")
            .bool("irq_pending")
            .struct("drive0", DRIVE, "drive0")
            .struct("drive1", DRIVE, "drive1")
            .build();

    private final int index;
    private final IrqLine irq;
    private final IdeDrive[] drives = new IdeDrive[2];
    private final TaskFile[] taskFiles = {new TaskFile(), new TaskFile()};
    private final ReentrantLock lock = new ReentrantLock();
    private final BusHandler commandBlock = new CommandBlock();
    private final BusHandler controlBlock = new ControlBlock();

    private int deviceControl;
    private boolean irqPending;
    private boolean irqAsserted;
    private DmaEngine dma;
    private Runnable dmaInterrupt = () -> { };

    /** Channel {@code index} (0 primary, 1 secondary) with its drives (null: position empty). */
    public IdeChannel(int index, IrqLine irq, IdeDrive master, IdeDrive slave) {
        this.index = index;
        this.irq = Objects.requireNonNull(irq, "irq");
        drives[0] = master;
        drives[1] = slave;
        for (int u = 0; u < 2; u++) {
            if (drives[u] != null) {
                drives[u].attach(this, taskFiles[u]);
            }
        }
        reset();
    }

    public BusHandler commandBlock() {
        return commandBlock;
    }

    public BusHandler controlBlock() {
        return controlBlock;
    }

    public int index() {
        return index;
    }

    /** The drive at position {@code unit} (0 master, 1 slave). */
    public Optional<IdeDrive> drive(int unit) {
        return Optional.ofNullable(drives[unit]);
    }

    /** QEMU's name of a drive of this channel: {@code ide<channel>-<hd|cd><unit>}. */
    public String driveName(int unit) {
        IdeDrive d = drives[unit];
        return "ide" + index + "-" + (d == null ? "hd" : d.kind()) + unit;
    }

    String driveName(IdeDrive d) {
        return driveName(drives[1] == d ? 1 : 0);
    }

    @Override
    public String id() {
        return "ide" + index;
    }

    @Override
    public int instanceId() {
        return index;
    }

    /** Hooks this channel to its bus master: where DMA data goes, and who hears of each interrupt. */
    void connectBusMaster(DmaEngine engine, Runnable onInterrupt) {
        lock.lock();
        try {
            dma = engine;
            dmaInterrupt = onInterrupt;
        } finally {
            lock.unlock();
        }
    }

    void run(Runnable action) {
        lock.lock();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }

    <T> T locked(Supplier<T> action) {
        lock.lock();
        try {
            return action.get();
        } finally {
            lock.unlock();
        }
    }

    /** Power-on or machine reset: both drives reset, signatures in the registers, INTRQ low. */
    @Override
    public void reset() {
        lock.lock();
        try {
            deviceControl = 0;
            for (int u = 0; u < 2; u++) {
                TaskFile tf = taskFiles[u];
                resetDrive(u, true);
                tf.trayLocked = false;
                tf.senseKey = tf.asc = tf.ascq = 0;
                tf.mediaChanged = false;
                tf.mediaEvent = 0;
            }
            irqPending = false;
            updateIrq();
        } finally {
            lock.unlock();
        }
    }

    private void resetDrive(int unit, boolean powerOn) {
        TaskFile tf = taskFiles[unit];
        IdeDrive d = drives[unit];
        boolean packet = d != null && d.packetDevice();
        tf.select = Ata.DEVICE_ALWAYS;
        tf.feature = tf.hobFeature = 0;
        tf.signature(packet);
        tf.error = 0x01; // diagnostic code: device passed
        tf.command = 0;
        tf.lba48 = false;
        tf.lba = 0;
        tf.remaining = tf.atapiLeft = tf.blockSectors = 0;
        // A packet device shows DRDY clear after a reset (ATA/ATAPI-7 9.12); at power-on QEMU's reads 0x50.
        tf.complete(d == null ? 0 : packet && !powerOn ? 0 : Ata.DRDY | Ata.DSC);
        if (powerOn) {
            tf.multSectors = AtaDisk.MAX_MULTIPLE;
            tf.transferMode = 0x40 | 5;
            tf.writeCache = true;
        }
        if (d != null) {
            d.reset(tf);
        }
    }

    // ---- interrupts (lock held) ----

    void raiseIrq() {
        irqPending = true;
        if ((deviceControl & Ata.NIEN) == 0) {
            dmaInterrupt.run(); // the bus master's interrupt bit follows the drive's INTRQ
        }
        updateIrq();
    }

    private void updateIrq() {
        boolean level = irqPending && (deviceControl & Ata.NIEN) == 0;
        if (level != irqAsserted) {
            irqAsserted = level;
            irq.setLevel(level);
        }
    }

    /** Runs the selected drive's DMA command if both it and the bus master's start bit are there. */
    void kickDma() {
        for (int u = 0; u < 2; u++) {
            TaskFile tf = taskFiles[u];
            if ((tf.transfer == Transfer.DMA || tf.transfer == Transfer.ATAPI_DMA) && drives[u] != null
                    && dma != null && dma.started()) {
                try {
                    drives[u].runDma(tf, dma);
                } catch (RuntimeException e) {
                    // a bug, not a guest error: the command fails, the VMM lives on
                    LOG.log(System.Logger.Level.ERROR, id() + ": DMA failed", e);
                    dma.end(DmaEngine.Result.FAULT);
                    tf.abort(Ata.ABRT);
                    raiseIrq();
                }
            }
        }
    }

    // ---- register access (lock held) ----

    private boolean channelEmpty() {
        return drives[0] == null && drives[1] == null;
    }

    private int selected() {
        return taskFiles[0].selectedUnit();
    }

    private int readRegister(int reg) {
        if (channelEmpty()) {
            return 0;
        }
        int unit = selected();
        TaskFile tf = taskFiles[unit];
        boolean hob = (deviceControl & Ata.HOB) != 0;
        return switch (reg) {
            case 1 -> tf.error;
            case 2 -> hob ? tf.hobNsector : tf.nsector;
            case 3 -> hob ? tf.hobSector : tf.sector;
            case 4 -> hob ? tf.hobLcyl : tf.lcyl;
            case 5 -> hob ? tf.hobHcyl : tf.hcyl;
            case 6 -> tf.select;
            default -> {
                irqPending = false; // reading Status acknowledges INTRQ
                updateIrq();
                yield drives[unit] == null ? 0 : tf.status;
            }
        };
    }

    private void writeRegister(int reg, int v) {
        if (reg >= 1 && reg <= 6) {
            deviceControl &= ~Ata.HOB; // a write to the command block clears HOB
        }
        for (TaskFile tf : taskFiles) {
            switch (reg) {
                case 1 -> { tf.hobFeature = tf.feature; tf.feature = v; }
                case 2 -> { tf.hobNsector = tf.nsector; tf.nsector = v; }
                case 3 -> { tf.hobSector = tf.sector; tf.sector = v; }
                case 4 -> { tf.hobLcyl = tf.lcyl; tf.lcyl = v; }
                case 5 -> { tf.hobHcyl = tf.hcyl; tf.hcyl = v; }
                case 6 -> tf.select = v | Ata.DEVICE_ALWAYS;
                default -> { }
            }
        }
        if (reg == 7) {
            command(v);
        }
    }

    private void command(int cmd) {
        int unit = selected();
        IdeDrive d = drives[unit];
        TaskFile tf = taskFiles[unit];
        if (d == null) {
            return; // nobody answers
        }
        if ((tf.status & (Ata.BSY | Ata.DRQ)) != 0 && !(cmd == Ata.DEVICE_RESET && d.packetDevice())) {
            return; // only DEVICE RESET may interrupt a command (as QEMU's channel has it)
        }
        irqPending = false;
        updateIrq();
        if (cmd == Ata.EXECUTE_DEVICE_DIAGNOSTIC) {
            for (int u = 0; u < 2; u++) {
                if (drives[u] != null) {
                    TaskFile t = taskFiles[u];
                    t.signature(drives[u].packetDevice());
                    t.error = 0x01;
                    t.complete(drives[u].packetDevice() ? 0 : Ata.DRDY | Ata.DSC);
                }
            }
            raiseIrq();
            return;
        }
        tf.error = 0;
        try {
            d.execute(tf, cmd);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, id() + ": command 0x" + Integer.toHexString(cmd) + " failed", e);
            tf.abort(Ata.ABRT);
            raiseIrq();
        }
    }

    private int statusOfSelected() {
        if (channelEmpty()) {
            return 0;
        }
        int unit = selected();
        return drives[unit] == null ? 0 : taskFiles[unit].status;
    }

    private void writeDeviceControl(int v) {
        boolean wasReset = (deviceControl & Ata.SRST) != 0;
        boolean reset = (v & Ata.SRST) != 0;
        deviceControl = v & (Ata.HOB | Ata.SRST | Ata.NIEN);
        if (!wasReset && reset) {
            for (int u = 0; u < 2; u++) {
                if (drives[u] != null) {
                    taskFiles[u].status = Ata.BSY | Ata.DSC;
                    taskFiles[u].transfer = Transfer.NONE;
                }
            }
        } else if (wasReset && !reset) {
            for (int u = 0; u < 2; u++) {
                resetDrive(u, false);
            }
            irqPending = false;
        }
        updateIrq();
    }

    private boolean dataIn(TaskFile tf) {
        return (tf.status & Ata.DRQ) != 0 && switch (tf.transfer) {
            case PIO_IN, READ_SECTORS, ATAPI_IN -> true;
            default -> false;
        };
    }

    private boolean dataOut(TaskFile tf) {
        return (tf.status & Ata.DRQ) != 0 && (tf.transfer == Transfer.WRITE_SECTORS || tf.transfer == Transfer.PACKET);
    }

    private long readData(int size) {
        int unit = selected();
        TaskFile tf = taskFiles[unit];
        if (drives[unit] == null || !dataIn(tf)) {
            return 0;
        }
        int n = Math.min(size >= 4 ? 4 : 2, tf.end - tf.pos);
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) (tf.buffer[tf.pos + i] & 0xff) << (8 * i);
        }
        tf.pos += n;
        if (tf.pos >= tf.end) {
            blockDone(unit);
        }
        return v;
    }

    private void writeData(int size, long value) {
        int unit = selected();
        TaskFile tf = taskFiles[unit];
        if (drives[unit] == null || !dataOut(tf)) {
            return;
        }
        int n = Math.min(size >= 4 ? 4 : 2, tf.end - tf.pos);
        for (int i = 0; i < n; i++) {
            tf.buffer[tf.pos + i] = (byte) (value >>> (8 * i));
        }
        tf.pos += n;
        if (tf.pos >= tf.end) {
            blockDone(unit);
        }
    }

    private void blockDone(int unit) {
        TaskFile tf = taskFiles[unit];
        try {
            drives[unit].blockDone(tf);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, id() + ": end of a data block failed", e);
            tf.abort(Ata.ABRT);
            raiseIrq();
        }
    }

    private final class CommandBlock implements BusHandler {
        @Override
        public long read(long offset, int size) {
            return locked(() -> {
                if (offset == 0) {
                    return readData(size);
                }
                if (offset < 0 || offset >= COMMAND_BLOCK_LENGTH) {
                    return 0xffL;
                }
                long v = 0;
                for (int i = 0; i < size && offset + i < COMMAND_BLOCK_LENGTH; i++) {
                    v |= (long) readRegister((int) offset + i) << (8 * i);
                }
                return v;
            });
        }

        @Override
        public void write(long offset, int size, long value) {
            run(() -> {
                if (offset == 0) {
                    writeData(size, value);
                    return;
                }
                for (int i = 0; i < size && offset + i < COMMAND_BLOCK_LENGTH && offset + i > 0; i++) {
                    writeRegister((int) offset + i, (int) (value >>> (8 * i)) & 0xff);
                }
            });
        }
    }

    private final class ControlBlock implements BusHandler {
        @Override
        public long read(long offset, int size) {
            return locked(() -> offset == 0 ? (long) statusOfSelected() : 0xffL);
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset == 0) {
                run(() -> writeDeviceControl((int) value & 0xff));
            }
        }
    }

    // ---- state ----

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public State state() {
        lock.lock();
        try {
            return new State(deviceControl, irqPending, save(taskFiles[0]), save(taskFiles[1]));
        } finally {
            lock.unlock();
        }
    }

    /** The part of the buffer the transfer still needs: the DRQ block, and ATAPI reply data after it. */
    private static int savedBufferLength(TaskFile tf) {
        return switch (tf.transfer) {
            case PIO_IN, READ_SECTORS, WRITE_SECTORS, PACKET -> tf.end;
            case ATAPI_IN -> tf.end + tf.atapiLeft;
            case ATAPI_DMA -> tf.atapiLeft;
            case NONE, DMA -> 0;
        };
    }

    private static Drive save(TaskFile t) {
        byte[] buf = java.util.Arrays.copyOf(t.buffer, savedBufferLength(t));
        return new Drive(t.feature, t.hobFeature, t.nsector, t.hobNsector, t.sector, t.hobSector, t.lcyl, t.hobLcyl,
                t.hcyl, t.hobHcyl, t.select, t.status, t.error, t.command, t.lba48, t.multSectors, t.heads,
                t.sectorsPerTrack, t.transferMode, t.writeCache, t.transfer.ordinal(), buf, t.pos, t.end, t.lba,
                t.remaining, t.blockSectors, t.atapiLeft, t.byteLimit, t.senseKey, t.asc, t.ascq, t.trayOpen,
                t.trayLocked, t.mediaChanged, t.mediaEvent);
    }

    private static void check(Drive d, String which) {
        Transfer t = Transfer.of(d.endTransfer());
        int len = d.ioBuffer().length;
        int pos = d.curIoBufferOffset();
        int end = d.curIoBufferLen();
        if (end < 0 || end > TaskFile.BUFFER_SIZE || pos < 0 || pos > end) {
            throw new IllegalArgumentException(which + ": PIO position " + Integer.toUnsignedString(pos) + " of "
                    + Integer.toUnsignedString(end) + " does not fit the " + TaskFile.BUFFER_SIZE + "-byte buffer");
        }
        int atapiLeft = d.atapiLeft();
        if (atapiLeft < 0 || atapiLeft > TaskFile.BUFFER_SIZE - (t == Transfer.ATAPI_IN ? end : 0)) {
            throw new IllegalArgumentException(which + ": " + Integer.toUnsignedString(atapiLeft)
                    + " bytes of ATAPI reply do not fit the buffer");
        }
        if (d.remaining() < 0 || d.lba() < 0 || d.blockSectors() > AtaDisk.MAX_MULTIPLE
                || d.multSectors() > AtaDisk.MAX_MULTIPLE) {
            throw new IllegalArgumentException(which + ": transfer progress out of range");
        }
        int want = switch (t) {
            case PIO_IN, READ_SECTORS, WRITE_SECTORS, PACKET -> end;
            case ATAPI_IN -> end + atapiLeft;
            case ATAPI_DMA -> atapiLeft;
            case NONE, DMA -> 0;
        };
        if (len != want) {
            throw new IllegalArgumentException(which + ": io_buffer holds " + len + " bytes, the transfer needs "
                    + want);
        }
    }

    private static void load(TaskFile t, Drive d) {
        t.feature = d.feature() & 0xff;
        t.hobFeature = d.hobFeature() & 0xff;
        t.nsector = d.nsector() & 0xff;
        t.hobNsector = d.hobNsector() & 0xff;
        t.sector = d.sector() & 0xff;
        t.hobSector = d.hobSector() & 0xff;
        t.lcyl = d.lcyl() & 0xff;
        t.hobLcyl = d.hobLcyl() & 0xff;
        t.hcyl = d.hcyl() & 0xff;
        t.hobHcyl = d.hobHcyl() & 0xff;
        t.select = d.select() & 0xff;
        t.status = d.status() & 0xff;
        t.error = d.error() & 0xff;
        t.command = d.command() & 0xff;
        t.lba48 = d.lba48();
        t.multSectors = d.multSectors();
        t.heads = d.heads() & 0xff;
        t.sectorsPerTrack = d.sectorsPerTrack() & 0xff;
        t.transferMode = d.transferMode() & 0xff;
        t.writeCache = d.writeCache();
        t.transfer = Transfer.of(d.endTransfer());
        java.util.Arrays.fill(t.buffer, (byte) 0);
        System.arraycopy(d.ioBuffer(), 0, t.buffer, 0, d.ioBuffer().length);
        t.pos = d.curIoBufferOffset();
        t.end = d.curIoBufferLen();
        t.lba = d.lba();
        t.remaining = d.remaining();
        t.blockSectors = d.blockSectors();
        t.atapiLeft = d.atapiLeft();
        t.byteLimit = d.byteLimit() & 0xffff;
        t.senseKey = d.senseKey() & 0xff;
        t.asc = d.asc() & 0xff;
        t.ascq = d.ascq() & 0xff;
        t.trayOpen = d.trayOpen();
        t.trayLocked = d.trayLocked();
        t.mediaChanged = d.cdromChanged();
        t.mediaEvent = d.mediaEvent() & 0xff;
    }

    @Override
    public void restore(State s) {
        check(s.drive0(), "ide_drive 0");
        check(s.drive1(), "ide_drive 1");
        lock.lock();
        try {
            deviceControl = s.cmd() & (Ata.HOB | Ata.SRST | Ata.NIEN);
            load(taskFiles[0], s.drive0());
            load(taskFiles[1], s.drive1());
            irqPending = s.irqPending();
            irqAsserted = !(irqPending && (deviceControl & Ata.NIEN) == 0);
            updateIrq(); // drive the line from the restored state, whatever this instance drove before
        } finally {
            lock.unlock();
        }
    }
}
