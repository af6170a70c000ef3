package dev.jhv.devices.i8042;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.irq.IrqLine;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.core.vmstate.ScalarType;
import dev.jhv.devices.platform.SystemControl;

import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The Intel 8042 keyboard controller of a PC/AT with PS/2 ports, with a keyboard and a mouse that are present
 * but idle: they answer their commands and never send a key or a movement.
 *
 * <p>Ports: 0x60 data ({@link #dataPort()}), 0x64 status on read and controller command on write
 * ({@link #commandPort()}). Its job here is the reset line: output port bit 0 cleared (command 0xD1) or
 * pulsed (0xF0–0xFF with mask bit 0 clear, 0xFE being the usual one) asks the machine for a reset.
 *
 * <p>Thread-safe; reset requests go to {@link SystemControl} outside the device lock.
 */
public final class I8042 implements Stateful<I8042.State> {
    public static final int DATA_PORT = 0x60;
    public static final int COMMAND_PORT = 0x64;
    public static final int KEYBOARD_IRQ = 1;
    public static final int AUX_IRQ = 12;

    // Status register.
    static final int STAT_OBF = 0x01;
    static final int STAT_SYS = 0x04;
    static final int STAT_CMD = 0x08;      // last write went to 0x64
    static final int STAT_UNLOCKED = 0x10; // keyboard not inhibited by the key lock
    static final int STAT_AUX_OBF = 0x20;

    // Command byte ("controller configuration byte").
    static final int CB_KBD_INT = 0x01;
    static final int CB_AUX_INT = 0x02;
    static final int CB_SYS = 0x04;
    static final int CB_KBD_DISABLED = 0x10;
    static final int CB_AUX_DISABLED = 0x20;
    static final int CB_XLATE = 0x40;

    // Output port.
    static final int OUT_RESET = 0x01; // active low: 0 holds the CPU in reset
    static final int OUT_A20 = 0x02;
    static final int OUT_KBD_OBF = 0x10;
    static final int OUT_AUX_OBF = 0x20;

    // Controller commands that take a data byte next.
    static final int PENDING_NONE = 0;
    static final int PENDING_WRITE_CMD_BYTE = 0x60;
    static final int PENDING_WRITE_OUTPUT = 0xd1;
    static final int PENDING_WRITE_KBD_OBUF = 0xd2;
    static final int PENDING_WRITE_AUX_OBUF = 0xd3;
    static final int PENDING_WRITE_AUX = 0xd4;

    // PS/2 device replies.
    static final int ACK = 0xfa;
    static final int RESEND = 0xfe;
    static final int BAT_OK = 0xaa;

    private static final System.Logger LOG = System.getLogger(I8042.class.getName());
    private static final int QUEUE_SIZE = 16;

    /** The keyboard behind the controller: its scan code set and the command waiting for a parameter. */
    public record Keyboard(int scanSet, int pendingCommand) { }

    /** The mouse behind the controller: the command waiting for a parameter. */
    public record Mouse(int pendingCommand) { }

    /**
     * The controller: status, command byte ("mode"), output port, the controller command waiting for its data
     * byte, the byte an empty buffer reads back, the output queue oldest byte first (queueAux bit i set: byte i
     * is mouse data), and the devices behind it.
     */
    public record State(int status, int mode, int outport, int pending, int lastData, byte[] queueData,
                        int queueAux, Keyboard kbd, Mouse mouse) { }

    private static final RecordDescription<Keyboard> PS2KBD = RecordDescription.part(Keyboard.class, "ps2kbd", 1)
            .u8("scan_set")
            .u8("pending_command")
            .build();

    private static final RecordDescription<Mouse> PS2MOUSE = RecordDescription.part(Mouse.class, "ps2mouse", 1)
            .u8("pending_command")
            .build();

    /**
     * The controller's state, as QEMU names it ("pckbd"), with the keyboard ("ps2kbd") and mouse ("ps2mouse")
     * nested. The status register's OBF bits and both IRQ lines are recomputed from the queue after a load.
     */
    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "pckbd", 1)
            .minimumVersion(1)
            .u8("status")
            .u8("mode")
            .u8("outport")
            .u8("pending")
            .u8("last_data")
            .lengthOf("queue_count", ScalarType.U8, "queueData")
            .vbuffer("queue_data", "queue_count", QUEUE_SIZE, "queueData")
            .u16("queue_aux")
            .struct("kbd", PS2KBD, "kbd")
            .struct("mouse", PS2MOUSE, "mouse")
            .build();

    private final IrqLine kbdIrq;
    private final IrqLine auxIrq;
    private final SystemControl control;
    private final ReentrantLock lock = new ReentrantLock();
    private final BusHandler dataPort = new DataPort();
    private final BusHandler commandPort = new CommandPort();

    // Guest-visible state.
    private int status;
    private int commandByte;
    private int outputPort;
    private int pendingCommand;
    /** The keyboard command waiting for its parameter byte (0xED, 0xF0, 0xF3), or 0. */
    private int kbdPendingCommand;
    /** The mouse command waiting for its parameter byte (0xE8, 0xF3), or 0. */
    private int auxPendingCommand;
    private int kbdScanSet;
    /** Bytes waiting for the output buffer, oldest first; queueAux[i] != 0 marks mouse data. */
    private final byte[] queueData = new byte[QUEUE_SIZE];
    private final byte[] queueAux = new byte[QUEUE_SIZE];
    private int queueHead;
    private int queueCount;
    /** What port 0x60 returns when the output buffer is empty: the last byte read. */
    private int lastData;

    private boolean kbdIrqAsserted;
    private boolean auxIrqAsserted;

    public I8042(IrqLine kbdIrq, IrqLine auxIrq, SystemControl control) {
        this.kbdIrq = Objects.requireNonNull(kbdIrq, "kbdIrq");
        this.auxIrq = Objects.requireNonNull(auxIrq, "auxIrq");
        this.control = Objects.requireNonNull(control, "control");
        reset();
    }

    /** The handler for port 0x60 (one port). */
    public BusHandler dataPort() {
        return dataPort;
    }

    /** The handler for port 0x64 (one port). */
    public BusHandler commandPort() {
        return commandPort;
    }

    /** Power-on state, as after a machine reset. */
    @Override
    public void reset() {
        lock.lock();
        try {
            status = STAT_CMD | STAT_UNLOCKED;
            commandByte = CB_KBD_INT | CB_AUX_INT;
            outputPort = OUT_RESET | OUT_A20 | 0xcc;
            pendingCommand = PENDING_NONE;
            kbdPendingCommand = 0;
            auxPendingCommand = 0;
            kbdScanSet = 2;
            queueHead = 0;
            queueCount = 0;
            lastData = 0;
            kbdIrqAsserted = false;
            auxIrqAsserted = false;
            kbdIrq.setLevel(false);
            auxIrq.setLevel(false);
        } finally {
            lock.unlock();
        }
    }

    // ---- port 0x60 ----

    int readData() {
        lock.lock();
        try {
            if (queueCount == 0) {
                return lastData;
            }
            lastData = queueData[queueHead] & 0xff;
            queueHead = (queueHead + 1) % QUEUE_SIZE;
            queueCount--;
            // Reading empties the output buffer; the next byte then fills it: drop the lines first so the
            // edge-triggered PIC sees a new interrupt for it, as the real controller's reload delay would give.
            setIrqs(false, false);
            updateIrqs();
            return lastData;
        } finally {
            lock.unlock();
        }
    }

    void writeData(int value) {
        boolean reset = false;
        lock.lock();
        try {
            status &= ~STAT_CMD;
            int pending = pendingCommand;
            pendingCommand = PENDING_NONE;
            switch (pending) {
                case PENDING_WRITE_CMD_BYTE -> {
                    commandByte = value;
                    // The command byte's system flag is reflected in the status register.
                    status = (status & ~STAT_SYS) | (value & CB_SYS);
                }
                case PENDING_WRITE_OUTPUT -> {
                    outputPort = value;
                    reset = (value & OUT_RESET) == 0;
                }
                case PENDING_WRITE_KBD_OBUF -> queue(value, false);
                case PENDING_WRITE_AUX_OBUF -> queue(value, true);
                case PENDING_WRITE_AUX -> mouseCommand(value);
                default -> keyboardCommand(value);
            }
            updateIrqs();
        } finally {
            lock.unlock();
        }
        if (reset) {
            LOG.log(System.Logger.Level.DEBUG, "i8042: output port reset line cleared");
            control.requestReset();
        }
    }

    // ---- port 0x64 ----

    int readStatus() {
        lock.lock();
        try {
            return status;
        } finally {
            lock.unlock();
        }
    }

    void writeCommand(int cmd) {
        boolean reset = false;
        lock.lock();
        try {
            status |= STAT_CMD;
            pendingCommand = PENDING_NONE;
            if (cmd >= 0x20 && cmd <= 0x3f) {
                // Read controller RAM: byte 0 is the command byte, the rest reads as zero.
                queue(cmd == 0x20 ? commandByte : 0, false);
            } else if (cmd >= 0x60 && cmd <= 0x7f) {
                pendingCommand = cmd == 0x60 ? PENDING_WRITE_CMD_BYTE : PENDING_NONE;
            } else if (cmd >= 0xf0) {
                // Pulse output lines low for 6 µs; mask bit 0 clear pulses the reset line.
                reset = (cmd & OUT_RESET) == 0;
            } else {
                switch (cmd) {
                    case 0xa1 -> queue(0x00, false);                  // controller version
                    case 0xa4 -> queue(0xf1, false);                  // no password installed
                    case 0xa7 -> commandByte |= CB_AUX_DISABLED;
                    case 0xa8 -> commandByte &= ~CB_AUX_DISABLED;
                    case 0xa9 -> queue(0x00, false);                  // aux interface test passed
                    case 0xaa -> {                                    // self test
                        status |= STAT_SYS;
                        queue(0x55, false);
                    }
                    case 0xab -> queue(0x00, false);                  // keyboard interface test passed
                    case 0xad -> commandByte |= CB_KBD_DISABLED;
                    case 0xae -> commandByte &= ~CB_KBD_DISABLED;
                    case 0xc0 -> queue(0x80, false);                  // input port: keyboard not inhibited
                    case 0xd0 -> queue(readOutputPort(), false);
                    case 0xd1 -> pendingCommand = PENDING_WRITE_OUTPUT;
                    case 0xd2 -> pendingCommand = PENDING_WRITE_KBD_OBUF;
                    case 0xd3 -> pendingCommand = PENDING_WRITE_AUX_OBUF;
                    case 0xd4 -> pendingCommand = PENDING_WRITE_AUX;
                    case 0xdd, 0xdf -> { }                            // A20 off/on: not emulated (always on)
                    case 0xe0 -> queue(0x00, false);                  // test inputs
                    default -> LOG.log(System.Logger.Level.DEBUG, "i8042: unsupported command 0x{0}",
                            Integer.toHexString(cmd));
                }
            }
            updateIrqs();
        } finally {
            lock.unlock();
        }
        if (reset) {
            LOG.log(System.Logger.Level.DEBUG, "i8042: reset line pulsed");
            control.requestReset();
        }
    }

    // ---- state save/load ----

    /** The queued bytes, oldest first. */
    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public String id() {
        return "i8042";
    }

    @Override
    public State state() {
        lock.lock();
        try {
            byte[] data = new byte[queueCount];
            int aux = 0;
            for (int i = 0; i < queueCount; i++) {
                data[i] = queueData[(queueHead + i) % QUEUE_SIZE];
                if (queueAux[(queueHead + i) % QUEUE_SIZE] != 0) {
                    aux |= 1 << i;
                }
            }
            return new State(status, commandByte, outputPort, pendingCommand, lastData, data, aux,
                    new Keyboard(kbdScanSet, kbdPendingCommand), new Mouse(auxPendingCommand));
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void restore(State s) {
        if (s.queueData().length > QUEUE_SIZE) {
            throw new IllegalArgumentException("the output queue holds " + s.queueData().length
                    + " bytes, more than " + QUEUE_SIZE);
        }
        lock.lock();
        try {
            status = s.status() & 0xff;
            commandByte = s.mode() & 0xff;
            outputPort = s.outport() & 0xff;
            pendingCommand = s.pending() & 0xff;
            lastData = s.lastData() & 0xff;
            kbdScanSet = s.kbd().scanSet() & 0xff;
            kbdPendingCommand = s.kbd().pendingCommand() & 0xff;
            auxPendingCommand = s.mouse().pendingCommand() & 0xff;
            queueHead = 0;
            queueCount = s.queueData().length;
            System.arraycopy(s.queueData(), 0, queueData, 0, queueCount);
            for (int i = 0; i < QUEUE_SIZE; i++) {
                queueAux[i] = (byte) ((s.queueAux() >>> i) & 1);
            }
            // Status OBF bits and the IRQ lines follow from the queue; drive both lines whatever this instance
            // drove before.
            updateIrqs();
            kbdIrq.setLevel(kbdIrqAsserted);
            auxIrq.setLevel(auxIrqAsserted);
        } finally {
            lock.unlock();
        }
    }

    // ---- the devices behind the ports (lock held) ----

    private void keyboardCommand(int value) {
        if (kbdPendingCommand != 0) {
            int cmd = kbdPendingCommand;
            kbdPendingCommand = 0;
            if (cmd == 0xf0) {
                queue(ACK, false);
                if (value == 0) {
                    queue(translate(kbdScanSet), false);
                } else if (value >= 1 && value <= 3) {
                    kbdScanSet = value;
                }
                return;
            }
            queue(ACK, false); // LED state (0xED) or typematic rate (0xF3)
            return;
        }
        switch (value) {
            case 0xed, 0xf0, 0xf3 -> {
                kbdPendingCommand = value;
                queue(ACK, false);
            }
            case 0xee -> queue(0xee, false);                          // echo
            case 0xf2 -> {                                            // identify: MF2 keyboard
                queue(ACK, false);
                queue(0xab, false);
                queue(translate(0x83), false);
            }
            case 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd -> queue(ACK, false);
            case 0xfe -> queue(ACK, false);                           // resend: nothing was lost
            case 0xff -> {
                kbdScanSet = 2;
                queue(ACK, false);
                queue(BAT_OK, false);
            }
            default -> queue(RESEND, false);
        }
    }

    private void mouseCommand(int value) {
        if (auxPendingCommand != 0) {
            auxPendingCommand = 0;
            queue(ACK, true); // resolution (0xE8) or sample rate (0xF3) taken
            return;
        }
        switch (value) {
            case 0xe8, 0xf3 -> {
                auxPendingCommand = value;
                queue(ACK, true);
            }
            case 0xe9 -> {                                            // status: stream mode, 4 counts/mm, 100/s
                queue(ACK, true);
                queue(0x00, true);
                queue(0x02, true);
                queue(100, true);
            }
            case 0xeb -> {                                            // read data: no movement
                queue(ACK, true);
                queue(0x08, true);
                queue(0x00, true);
                queue(0x00, true);
            }
            case 0xf2 -> {                                            // identify: standard PS/2 mouse
                queue(ACK, true);
                queue(0x00, true);
            }
            case 0xff -> {
                queue(ACK, true);
                queue(BAT_OK, true);
                queue(0x00, true);
            }
            case 0xe6, 0xe7, 0xea, 0xec, 0xee, 0xf0, 0xf4, 0xf5, 0xf6, 0xfe -> queue(ACK, true);
            default -> queue(RESEND, true);
        }
    }

    /** Scan code set 2 answers pass the controller's translation to set 1 when the command byte asks for it. */
    private int translate(int code) {
        if ((commandByte & CB_XLATE) == 0) {
            return code;
        }
        return switch (code) {
            case 0x83 -> 0x41;
            case 1 -> 0x43;
            case 2 -> 0x41;
            case 3 -> 0x3f;
            default -> code;
        };
    }

    private int readOutputPort() {
        int value = outputPort & ~(OUT_KBD_OBF | OUT_AUX_OBF);
        if (queueCount > 0) {
            value |= queueAux[queueHead] != 0 ? OUT_AUX_OBF : OUT_KBD_OBF;
        }
        return value;
    }

    private void queue(int value, boolean aux) {
        if (queueCount == QUEUE_SIZE) {
            return; // the guest does not read: drop, as a device would after its own buffer fills
        }
        int slot = (queueHead + queueCount) % QUEUE_SIZE;
        queueData[slot] = (byte) value;
        queueAux[slot] = (byte) (aux ? 1 : 0);
        queueCount++;
    }

    private void updateIrqs() {
        boolean aux = queueCount > 0 && queueAux[queueHead] != 0;
        status &= ~(STAT_OBF | STAT_AUX_OBF);
        if (queueCount > 0) {
            status |= STAT_OBF | (aux ? STAT_AUX_OBF : 0);
        }
        boolean kbdLevel = queueCount > 0 && !aux && (commandByte & CB_KBD_INT) != 0;
        boolean auxLevel = queueCount > 0 && aux && (commandByte & CB_AUX_INT) != 0;
        setIrqs(kbdLevel, auxLevel);
    }

    private void setIrqs(boolean kbdLevel, boolean auxLevel) {
        if (kbdLevel != kbdIrqAsserted) {
            kbdIrqAsserted = kbdLevel;
            kbdIrq.setLevel(kbdLevel);
        }
        if (auxLevel != auxIrqAsserted) {
            auxIrqAsserted = auxLevel;
            auxIrq.setLevel(auxLevel);
        }
    }

    private final class DataPort implements BusHandler {
        @Override
        public long read(long offset, int size) {
            return offset == 0 ? readData() : 0xff;
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset == 0) {
                writeData((int) value & 0xff);
            }
        }
    }

    private final class CommandPort implements BusHandler {
        @Override
        public long read(long offset, int size) {
            return offset == 0 ? readStatus() : 0xff;
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset == 0) {
                writeCommand((int) value & 0xff);
            }
        }
    }
}
