package dev.jhv.devices.serial;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.chardev.CharFrontend;
import dev.jhv.core.irq.IrqLine;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.core.vmstate.ScalarType;

import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A National PC16550D UART with 16-byte FIFOs, as a PC's COM port (8 I/O ports, e.g. 0x3f8 with IRQ 4).
 *
 * <p>The line is infinitely fast: a byte written to THR goes to the {@link CharBackend} at once, so THR and the
 * transmitter are always empty again after a write. On the receive side a character timeout is indicated as soon
 * as the host has nothing more to send right now (the idle line of four character times collapses to zero),
 * so a FIFO holding fewer bytes than the trigger level still interrupts, with IIR saying "timeout".
 *
 * <p>As on a PC, the interrupt output reaches the PIC only while MCR.OUT2 is set; in loopback mode the OUT2 pin
 * is forced inactive and the receiver is disconnected from the host, as the datasheet says.
 *
 * <p>Thread-safe: register accesses (vCPU threads) and host input (I/O threads) take one lock. The back end is
 * written and told {@link CharBackend#frontendReady()} outside the lock, so a back end may call {@link #receive}
 * from its own thread while holding its own locks.
 */
public final class Uart16550 implements BusHandler, CharFrontend, Stateful<Uart16550.State> {
    /** Standard COM1 resources. */
    public static final int COM1_BASE = 0x3f8;
    public static final int COM1_IRQ = 4;
    /** Number of I/O ports the UART occupies. */
    public static final int PORT_COUNT = 8;
    static final int FIFO_SIZE = 16;

    // Register offsets.
    static final int RBR_THR_DLL = 0;
    static final int IER_DLM = 1;
    static final int IIR_FCR = 2;
    static final int LCR = 3;
    static final int MCR = 4;
    static final int LSR = 5;
    static final int MSR = 6;
    static final int SCR = 7;

    // IER bits.
    static final int IER_ERBFI = 0x01; // received data available
    static final int IER_ETBEI = 0x02; // THR empty
    static final int IER_ELSI = 0x04;  // receiver line status
    static final int IER_EDSSI = 0x08; // modem status

    // IIR values.
    static final int IIR_NO_INT = 0x01;
    static final int IIR_MSI = 0x00;
    static final int IIR_THRI = 0x02;
    static final int IIR_RDI = 0x04;
    static final int IIR_RLSI = 0x06;
    static final int IIR_CTI = 0x0c;
    static final int IIR_FIFO_ENABLED = 0xc0;

    // FCR bits.
    static final int FCR_ENABLE = 0x01;
    static final int FCR_RX_RESET = 0x02;
    static final int FCR_TX_RESET = 0x04;

    // LCR bits.
    static final int LCR_DLAB = 0x80;

    // MCR bits.
    static final int MCR_DTR = 0x01;
    static final int MCR_RTS = 0x02;
    static final int MCR_OUT1 = 0x04;
    static final int MCR_OUT2 = 0x08;
    static final int MCR_LOOP = 0x10;

    // LSR bits.
    static final int LSR_DR = 0x01;
    static final int LSR_OE = 0x02;
    static final int LSR_PE = 0x04;
    static final int LSR_FE = 0x08;
    static final int LSR_BI = 0x10;
    static final int LSR_THRE = 0x20;
    static final int LSR_TEMT = 0x40;
    static final int LSR_ERROR_MASK = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

    // MSR bits.
    static final int MSR_DCTS = 0x01;
    static final int MSR_DDSR = 0x02;
    static final int MSR_TERI = 0x04;
    static final int MSR_DDCD = 0x08;
    static final int MSR_CTS = 0x10;
    static final int MSR_DSR = 0x20;
    static final int MSR_RI = 0x40;
    static final int MSR_DCD = 0x80;
    static final int MSR_DELTA_MASK = 0x0f;
    /** The host side holds CTS, DSR and DCD asserted: a null-modem cable to a ready peer. */
    static final int MSR_HOST_LINES = MSR_CTS | MSR_DSR | MSR_DCD;

    private static final int[] RX_TRIGGER_LEVELS = {1, 4, 8, 14};

    /**
     * The UART's state as one record, as QEMU names the section ("serial"). IIR and LSR's DR bit are not stored:
     * they follow from the other registers and the receive buffer. {@code lsr} holds the latched error bits (and
     * THRE/TEMT, always set here); {@code rbr} the holding register a read of an empty RBR returns;
     * {@code recvFifo} the bytes the guest has yet to read, oldest first.
     */
    public record State(int divider, int rbr, int ier, int lcr, int mcr, int lsr, int msr, int scr, int fcr,
                        byte[] recvFifo, boolean thrIpending, boolean timeoutIpending) {
        /** Power-on: 9600 baud, everything clear, the host's modem lines up. */
        public static final State POWER_ON = new State(0x0c, 0, 0, 0, 0, LSR_THRE | LSR_TEMT, MSR_HOST_LINES, 0,
                0, new byte[0], false, false);
    }

    /** The receive buffer. Absent when empty. */
    private static final RecordDescription<State> RECV_FIFO = RecordDescription.part(State.class,
                    "serial/recv_fifo", 1)
            .lengthOf("rx_count", ScalarType.U8, "recvFifo")
            .vbuffer("rx_fifo", "rx_count", FIFO_SIZE, "recvFifo")
            .build();

    /** A THR-empty interrupt not yet acknowledged (by reading IIR or writing THR). Absent means none. */
    private static final RecordDescription<State> THR_IPENDING = RecordDescription.part(State.class,
                    "serial/thr_ipending", 1)
            .bool("thr_ipending")
            .build();

    /** A character timeout indicated and not yet cleared by reading RBR. Absent means none. */
    private static final RecordDescription<State> TIMEOUT_IPENDING = RecordDescription.part(State.class,
                    "serial/timeout_ipending", 1)
            .bool("timeout_ipending")
            .build();

    /**
     * The "serial" section. A stream without a subsection means that subsection's default (empty receive buffer,
     * no pending THRE interrupt, no timeout).
     */
    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "serial", 1)
            .minimumVersion(1)
            .u16("divider")
            .u8("rbr")
            .u8("ier")
            .u8("lcr")
            .u8("mcr")
            .u8("lsr")
            .u8("msr")
            .u8("scr")
            .u8("fcr")
            .subsection(RECV_FIFO, s -> s.recvFifo().length > 0)
            .subsection(THR_IPENDING, State::thrIpending)
            .subsection(TIMEOUT_IPENDING, State::timeoutIpending)
            .defaults(State.POWER_ON)
            .build();

    private final String id;
    private final CharBackend backend;
    private final IrqLine irq;
    private final ReentrantLock lock = new ReentrantLock();
    /**
     * Held across a THR write, from the register update to the back end's write, so bytes reach the back end in
     * the order they were written. Taken before {@link #lock} and never by host input, so it cannot deadlock with
     * a back end that feeds {@link #receive} under its own lock.
     */
    private final ReentrantLock transmitLock = new ReentrantLock();

    // Guest-visible state: plain fields only.
    private int divisor;
    private int ier;
    private int fcr;
    private int lcr;
    private int mcr;
    /** LSR bits that are latched (OE, PE, FE, BI); DR, THRE, TEMT are derived from the FIFOs. */
    private int lsrErrors;
    private int msr;
    private int scr;
    private final byte[] rxFifo = new byte[FIFO_SIZE];
    private int rxHead;
    private int rxCount;
    private boolean thrInterruptPending;
    private boolean timeoutPending;

    /** The level last driven on the IRQ line (output state, re-driven by {@link #reset()} and after a load). */
    private boolean irqAsserted;

    /** Paused with the machine: the back end holds host input back. */
    private boolean paused;

    public Uart16550(String id, CharBackend backend, IrqLine irq) {
        this.id = Objects.requireNonNull(id, "id");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.irq = Objects.requireNonNull(irq, "irq");
        lock.lock();
        try {
            resetLocked();
            irq.setLevel(false);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String id() {
        return id;
    }

    /** Power-on / machine reset state (the datasheet's MR pin). */
    @Override
    public void reset() {
        lock.lock();
        try {
            resetLocked();
            irqAsserted = false;
            irq.setLevel(false);
        } finally {
            lock.unlock();
        }
        backend.frontendReady();
    }

    private void resetLocked() {
        divisor = 0x0c; // 9600 baud with the PC's 1.8432 MHz clock
        ier = 0;
        fcr = 0;
        lcr = 0;
        mcr = 0;
        lsrErrors = 0;
        msr = MSR_HOST_LINES;
        scr = 0;
        rxHead = 0;
        rxCount = 0;
        thrInterruptPending = false;
        timeoutPending = false;
    }

    // ---- BusHandler ----

    @Override
    public long read(long offset, int size) {
        if (offset < 0 || offset >= PORT_COUNT) {
            return 0xff;
        }
        // Wider accesses read consecutive registers, as the ISA bus would split them.
        long value = 0;
        for (int i = 0; i < size && offset + i < PORT_COUNT; i++) {
            value |= (long) readRegister((int) offset + i) << (8 * i);
        }
        return value;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset < 0 || offset >= PORT_COUNT) {
            return;
        }
        for (int i = 0; i < size && offset + i < PORT_COUNT; i++) {
            writeRegister((int) offset + i, (int) (value >>> (8 * i)) & 0xff);
        }
    }

    int readRegister(int reg) {
        boolean notifyBackend = false;
        int value;
        lock.lock();
        try {
            switch (reg) {
                case RBR_THR_DLL -> {
                    if ((lcr & LCR_DLAB) != 0) {
                        value = divisor & 0xff;
                    } else {
                        value = popRx();
                        notifyBackend = rxCount == 0;
                    }
                }
                case IER_DLM -> value = (lcr & LCR_DLAB) != 0 ? (divisor >>> 8) & 0xff : ier;
                case IIR_FCR -> {
                    value = interruptIdentification();
                    // Reading IIR while THRE is the source acknowledges it.
                    if ((value & 0x0f) == IIR_THRI) {
                        thrInterruptPending = false;
                        updateIrq();
                    }
                }
                case LCR -> value = lcr;
                case MCR -> value = mcr;
                case LSR -> {
                    value = lineStatus();
                    lsrErrors = 0; // error bits clear on read
                    updateIrq();
                }
                case MSR -> {
                    value = msr;
                    msr &= ~MSR_DELTA_MASK;
                    updateIrq();
                }
                case SCR -> value = scr;
                default -> value = 0xff;
            }
        } finally {
            lock.unlock();
        }
        if (notifyBackend) {
            backend.frontendReady();
        }
        return value;
    }

    void writeRegister(int reg, int value) {
        transmitLock.lock();
        try {
            writeRegisterOrdered(reg, value);
        } finally {
            transmitLock.unlock();
        }
    }

    private void writeRegisterOrdered(int reg, int value) {
        byte transmit = 0;
        boolean toBackend = false;
        boolean notifyBackend = false;
        lock.lock();
        try {
            switch (reg) {
                case RBR_THR_DLL -> {
                    if ((lcr & LCR_DLAB) != 0) {
                        divisor = (divisor & 0xff00) | value;
                    } else {
                        // Writing THR acknowledges the THRE interrupt; the byte leaves at once and THR is empty
                        // again, which raises THRE anew: the line drops and rises, giving the PIC a fresh edge.
                        thrInterruptPending = false;
                        updateIrq();
                        if ((mcr & MCR_LOOP) != 0) {
                            pushRx((byte) value);
                            timeoutPending = true;
                        } else {
                            transmit = (byte) value;
                            toBackend = true;
                        }
                        thrInterruptPending = (ier & IER_ETBEI) != 0;
                        updateIrq();
                    }
                }
                case IER_DLM -> {
                    if ((lcr & LCR_DLAB) != 0) {
                        divisor = (divisor & 0x00ff) | (value << 8);
                    } else {
                        int old = ier;
                        ier = value & 0x0f;
                        if ((ier & IER_ETBEI) == 0) {
                            thrInterruptPending = false;
                        } else if ((old & IER_ETBEI) == 0) {
                            // Enabling THRE interrupts with THR empty (it always is) interrupts at once.
                            thrInterruptPending = true;
                        }
                        updateIrq();
                    }
                }
                case IIR_FCR -> notifyBackend = writeFifoControl(value);
                case LCR -> lcr = value;
                case MCR -> notifyBackend = writeModemControl(value & 0x1f);
                case LSR, MSR -> { } // factory test registers: writes ignored
                case SCR -> scr = value;
                default -> { }
            }
        } finally {
            lock.unlock();
        }
        if (toBackend) {
            backend.write(new byte[] {transmit}, 0, 1);
        }
        if (notifyBackend) {
            backend.frontendReady();
        }
    }

    private boolean writeFifoControl(int value) {
        boolean notify = false;
        // FCR0 must be set for the other bits to be programmed; toggling it clears both FIFOs.
        if (((value ^ fcr) & FCR_ENABLE) != 0) {
            clearRx();
            notify = true;
        }
        if ((value & FCR_ENABLE) == 0) {
            fcr = 0;
        } else {
            if ((value & FCR_RX_RESET) != 0) {
                clearRx();
                notify = true;
            }
            // TX FIFO reset: the transmitter is always empty here.
            fcr = value & ~(FCR_RX_RESET | FCR_TX_RESET);
        }
        updateIrq();
        return notify;
    }

    private boolean writeModemControl(int value) {
        int old = mcr;
        mcr = value;
        int lines;
        if ((mcr & MCR_LOOP) != 0) {
            // Loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
            lines = ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0)
                    | ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
                    | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0)
                    | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
        } else {
            lines = MSR_HOST_LINES;
        }
        setModemLines(lines);
        updateIrq();
        // Leaving loopback reconnects the receiver to the host.
        return (old & MCR_LOOP) != 0 && (mcr & MCR_LOOP) == 0;
    }

    private void setModemLines(int lines) {
        int old = msr & 0xf0;
        int changed = old ^ lines;
        int delta = msr & MSR_DELTA_MASK;
        if ((changed & MSR_CTS) != 0) {
            delta |= MSR_DCTS;
        }
        if ((changed & MSR_DSR) != 0) {
            delta |= MSR_DDSR;
        }
        if ((old & MSR_RI) != 0 && (lines & MSR_RI) == 0) {
            delta |= MSR_TERI; // trailing edge of RI only
        }
        if ((changed & MSR_DCD) != 0) {
            delta |= MSR_DDCD;
        }
        msr = lines | delta;
    }

    // ---- CharFrontend ----

    @Override
    public int canReceive() {
        lock.lock();
        try {
            if ((mcr & MCR_LOOP) != 0 || paused) {
                return 0; // receiver disconnected from the serial input, or the machine is paused
            }
            return rxCapacity() - rxCount;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void receive(byte[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        if (length == 0) {
            return;
        }
        lock.lock();
        try {
            if ((mcr & MCR_LOOP) != 0) {
                return; // the serial input pin is not connected in loopback
            }
            for (int i = 0; i < length; i++) {
                pushRx(data[offset + i]);
            }
            // The host has nothing more for now: the line goes idle, which is a character timeout.
            timeoutPending = true;
            updateIrq();
        } finally {
            lock.unlock();
        }
    }

    // ---- device lifecycle and state ----

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public void pause() {
        lock.lock();
        try {
            paused = true;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void resume() {
        lock.lock();
        try {
            paused = false;
        } finally {
            lock.unlock();
        }
        backend.frontendReady(); // input held back meanwhile may come now
    }

    @Override
    public State state() {
        lock.lock();
        try {
            byte[] fifo = new byte[rxCount];
            for (int i = 0; i < rxCount; i++) {
                fifo[i] = rxFifo[(rxHead + i) % FIFO_SIZE];
            }
            return new State(divisor & 0xffff, rxFifo[rxHead] & 0xff, ier, lcr, mcr, lineStatus() & ~LSR_DR, msr,
                    scr, fcr, fifo, thrInterruptPending, timeoutPending);
        } finally {
            lock.unlock();
        }
    }

    /** Checks the registers and makes them the device's, then drives the IRQ line from them. */
    @Override
    public void restore(State s) {
        int newFcr = (s.fcr() & FCR_ENABLE) == 0 ? 0 : s.fcr() & ~(FCR_RX_RESET | FCR_TX_RESET);
        int capacity = (newFcr & FCR_ENABLE) != 0 ? FIFO_SIZE : 1;
        int count = s.recvFifo().length;
        if (count > capacity) {
            throw new IllegalArgumentException("the receive buffer holds " + count + " bytes, but with FCR 0x"
                    + Integer.toHexString(s.fcr()) + " it holds at most " + capacity);
        }
        lock.lock();
        try {
            divisor = s.divider() & 0xffff;
            ier = s.ier() & 0x0f;
            lcr = s.lcr() & 0xff;
            mcr = s.mcr() & 0x1f;
            lsrErrors = s.lsr() & LSR_ERROR_MASK;
            msr = s.msr() & 0xff;
            scr = s.scr() & 0xff;
            fcr = newFcr;
            rxHead = 0;
            rxCount = count;
            System.arraycopy(s.recvFifo(), 0, rxFifo, 0, count);
            if (count == 0) {
                rxFifo[0] = (byte) s.rbr(); // the stale holding register a read of an empty RBR returns
            }
            thrInterruptPending = s.thrIpending();
            timeoutPending = s.timeoutIpending();
            // irqAsserted only says what this instance last drove: drive the line from the restored registers.
            boolean gate = (mcr & MCR_OUT2) != 0 && (mcr & MCR_LOOP) == 0;
            irqAsserted = gate && pendingInterrupt() != IIR_NO_INT;
            irq.setLevel(irqAsserted);
        } finally {
            lock.unlock();
        }
        backend.frontendReady(); // the receive buffer may have room again
    }

    // ---- internals (lock held) ----

    private int rxCapacity() {
        return (fcr & FCR_ENABLE) != 0 ? FIFO_SIZE : 1;
    }

    int rxTriggerLevel() {
        return RX_TRIGGER_LEVELS[(fcr >>> 6) & 3];
    }

    private void pushRx(byte b) {
        if (rxCount >= rxCapacity()) {
            lsrErrors |= LSR_OE;
            if ((fcr & FCR_ENABLE) == 0) {
                // Without FIFO the new character overwrites the unread one.
                rxFifo[rxHead] = b;
            }
            // With FIFO the character in the shift register is lost.
            return;
        }
        rxFifo[(rxHead + rxCount) % FIFO_SIZE] = b;
        rxCount++;
    }

    private int popRx() {
        if (rxCount == 0) {
            return rxFifo[rxHead] & 0xff; // stale holding register
        }
        int value = rxFifo[rxHead] & 0xff;
        rxCount--;
        if (rxCount > 0) {
            rxHead = (rxHead + 1) % FIFO_SIZE;
        }
        // Reading RBR clears the timeout indication; it re-arms at once while data is left (idle line).
        timeoutPending = rxCount > 0;
        updateIrq();
        return value;
    }

    private void clearRx() {
        rxHead = 0;
        rxCount = 0;
        timeoutPending = false;
    }

    private int lineStatus() {
        return lsrErrors | (rxCount > 0 ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
    }

    /** IIR as the guest reads it, highest priority source first. */
    private int interruptIdentification() {
        int fifoBits = (fcr & FCR_ENABLE) != 0 ? IIR_FIFO_ENABLED : 0;
        return fifoBits | pendingInterrupt();
    }

    private int pendingInterrupt() {
        if ((ier & IER_ELSI) != 0 && (lsrErrors & LSR_ERROR_MASK) != 0) {
            return IIR_RLSI;
        }
        if ((ier & IER_ERBFI) != 0 && rxCount > 0) {
            if ((fcr & FCR_ENABLE) == 0 || rxCount >= rxTriggerLevel()) {
                return IIR_RDI;
            }
            if (timeoutPending) {
                return IIR_CTI;
            }
        }
        if ((ier & IER_ETBEI) != 0 && thrInterruptPending) {
            return IIR_THRI;
        }
        if ((ier & IER_EDSSI) != 0 && (msr & MSR_DELTA_MASK) != 0) {
            return IIR_MSI;
        }
        return IIR_NO_INT;
    }

    private void updateIrq() {
        // On a PC the INTR pin reaches the PIC through a buffer enabled by OUT2; loopback forces OUT2 inactive.
        boolean gate = (mcr & MCR_OUT2) != 0 && (mcr & MCR_LOOP) == 0;
        boolean level = gate && pendingInterrupt() != IIR_NO_INT;
        if (level != irqAsserted) {
            irqAsserted = level;
            irq.setLevel(level);
        }
    }
}
