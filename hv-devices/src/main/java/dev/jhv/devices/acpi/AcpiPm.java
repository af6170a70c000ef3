package dev.jhv.devices.acpi;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.irq.IrqLine;
import dev.jhv.core.device.PowerButton;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.devices.platform.SystemControl;

import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * ACPI fixed-hardware power management registers in the style of the Intel PIIX4, as one block of I/O ports
 * (by default at 0x600, which the FADT must name):
 * <pre>
 *   +0  PM1a_STS  16 bit, write 1 to clear   (PM1a_EVT_BLK, 4 bytes)
 *   +2  PM1a_EN   16 bit
 *   +4  PM1a_CNT  16 bit                     (PM1a_CNT_BLK, 2 bytes)
 *   +8  PM_TMR    32 bit, read-only, 24 bits (PM_TMR_BLK, 4 bytes)
 * </pre>
 * The SCI (IRQ 9, level, active high) is asserted while any enabled status bit is set. SCI_EN reads as 1:
 * there is no SMM firmware to hand ACPI over from. Writing SLP_EN with SLP_TYP 0 (S5, soft off, the value
 * the DSDT's {@code \_S5} must give) asks the machine to power off.
 *
 * <p>TMR_STS is raised when the timer's bit 23 changes, noticed whenever the guest reads PM1_STS or the timer;
 * there is no timer thread, so a guest waiting for a timer-overflow SCI alone is not woken.
 */
public final class AcpiPm implements BusHandler, Stateful<AcpiPm.State>, PowerButton {
    public static final int DEFAULT_BASE = 0x600;
    /** Bytes of I/O space the block occupies. */
    public static final int LENGTH = 12;
    public static final int PM1_EVT_OFFSET = 0;
    public static final int PM1_EVT_LENGTH = 4;
    public static final int PM1_CNT_OFFSET = 4;
    public static final int PM1_CNT_LENGTH = 2;
    public static final int PM_TMR_OFFSET = 8;
    public static final int PM_TMR_LENGTH = 4;
    public static final int SCI_IRQ = 9;
    /** The SLP_TYP value for S5 (soft off) that the DSDT's \_S5 package must hold. */
    public static final int SLP_TYP_S5 = 0;
    /** The timer's frequency in Hz, fixed by the ACPI specification. */
    public static final long PM_TIMER_FREQUENCY = 3_579_545;

    // PM1_STS / PM1_EN bits.
    public static final int TMR_STS = 1 << 0;
    public static final int BM_STS = 1 << 4;
    public static final int GBL_STS = 1 << 5;
    public static final int PWRBTN_STS = 1 << 8;
    public static final int SLPBTN_STS = 1 << 9;
    public static final int RTC_STS = 1 << 10;
    public static final int WAK_STS = 1 << 15;
    static final int STS_MASK = TMR_STS | BM_STS | GBL_STS | PWRBTN_STS | SLPBTN_STS | RTC_STS | WAK_STS;
    static final int EN_MASK = TMR_STS | GBL_STS | PWRBTN_STS | SLPBTN_STS | RTC_STS;

    // PM1_CNT bits.
    public static final int SCI_EN = 1 << 0;
    static final int SLP_TYP_SHIFT = 10;
    static final int SLP_TYP_MASK = 7 << SLP_TYP_SHIFT;
    public static final int SLP_EN = 1 << 13;
    /** Bits that are stored: BM_RLD (1) and SLP_TYP; GBL_RLS (2) and SLP_EN are write-only actions. */
    static final int CNT_STORED = (1 << 1) | SLP_TYP_MASK;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final System.Logger LOG = System.getLogger(AcpiPm.class.getName());

    /**
     * The PM registers, in the manner of QEMU's "piix4_pm" but named for this block ("acpi-pm"): PM1a status,
     * enable and control, and the PM timer's 24-bit count taken at pre-save. After a load the timer continues
     * from that count (its time base is rebased on this host's monotonic clock, so it never runs backwards
     * across a save and load), and the SCI is driven from the restored status and enable bits.
     */
    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "acpi-pm", 1)
            .minimumVersion(1)
            .u16("pm1_sts")
            .u16("pm1_en")
            .u16("pm1_cnt")
            .u32("tmr_val")
            .build();

    /** PM1 status, enable and control, and the 24-bit PM timer count. */
    public record State(int pm1Sts, int pm1En, int pm1Cnt, int tmrVal) { }

    /** The timer count when the machine paused (the timer stands still meanwhile, as QEMU's virtual clock). */
    private long pausedCount = -1;

    private final IrqLine sci;
    private final SystemControl control;
    private final LongSupplier nanoTime;
    private final ReentrantLock lock = new ReentrantLock();

    // Guest-visible state.
    private int pm1Status;
    private int pm1Enable;
    private int pm1Control;
    /** The nanoTime at which the timer read zero. */
    private long timerEpochNanos;
    /** The timer's bit-23 half period (ticks >>> 23) when TMR_STS was last brought up to date. */
    private long timerHalfPeriodSeen;

    private boolean sciAsserted;

    public AcpiPm(IrqLine sci, SystemControl control) {
        this(sci, control, System::nanoTime);
    }

    /** With an explicit monotonic nanosecond source, for tests. */
    AcpiPm(IrqLine sci, SystemControl control, LongSupplier nanoTime) {
        this.sci = Objects.requireNonNull(sci, "sci");
        this.control = Objects.requireNonNull(control, "control");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        timerEpochNanos = nanoTime.getAsLong();
        reset();
    }

    /** Machine reset: status, enables and control clear; the timer keeps running, as on the chipset. */
    @Override
    public void reset() {
        lock.lock();
        try {
            pm1Status = 0;
            pm1Enable = 0;
            pm1Control = 0;
            timerHalfPeriodSeen = ticks() >>> 23;
            sciAsserted = false;
            sci.setLevel(false);
        } finally {
            lock.unlock();
        }
    }

    /** The power button was pressed (the monitor's system_powerdown): PWRBTN_STS, and the SCI if enabled. */
    @Override
    public void press() {
        lock.lock();
        try {
            pm1Status |= PWRBTN_STS;
            updateSci();
        } finally {
            lock.unlock();
        }
    }

    /** PM1_STS as the guest would read it now. */
    public int status() {
        lock.lock();
        try {
            pollTimer();
            return pm1Status;
        } finally {
            lock.unlock();
        }
    }

    // ---- BusHandler ----

    @Override
    public long read(long offset, int size) {
        if (offset < 0 || offset >= LENGTH) {
            return 0;
        }
        lock.lock();
        try {
            pollTimer();
            long timer = ticks() & 0xffffff; // one sample per access: a 32-bit read is never torn
            long value = 0;
            for (int i = 0; i < size && offset + i < LENGTH; i++) {
                value |= (long) readByte((int) offset + i, timer) << (8 * i);
            }
            return value;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset < 0 || offset >= LENGTH) {
            return;
        }
        int sleepType = -1;
        lock.lock();
        try {
            pollTimer();
            for (int i = 0; i < size && offset + i < LENGTH; i++) {
                int r = writeByte((int) offset + i, (int) (value >>> (8 * i)) & 0xff);
                if (r >= 0) {
                    sleepType = r;
                }
            }
            updateSci();
        } finally {
            lock.unlock();
        }
        if (sleepType >= 0) {
            enterSleepState(sleepType);
        }
    }

    private int readByte(int offset, long timer) {
        int word = switch (offset & ~1) {
            case 0 -> pm1Status;
            case 2 -> pm1Enable;
            case 4 -> pm1Control | SCI_EN;
            case 8 -> (int) timer;
            case 10 -> (int) (timer >>> 16);
            default -> 0;
        };
        return (offset & 1) == 0 ? word & 0xff : (word >>> 8) & 0xff;
    }

    /** Writes one byte; returns the SLP_TYP to enter when this byte set SLP_EN, else -1. */
    private int writeByte(int offset, int value) {
        int shift = (offset & 1) * 8;
        int bits = value << shift;
        int laneMask = 0xff << shift;
        switch (offset & ~1) {
            case 0 -> pm1Status &= ~(bits & STS_MASK);
            case 2 -> pm1Enable = (pm1Enable & ~laneMask) | (bits & EN_MASK);
            case 4 -> {
                pm1Control = (pm1Control & ~(laneMask & CNT_STORED)) | (bits & CNT_STORED);
                if ((bits & SLP_EN) != 0) {
                    return (pm1Control & SLP_TYP_MASK) >>> SLP_TYP_SHIFT;
                }
            }
            default -> { } // the timer is read-only
        }
        return -1;
    }

    private void enterSleepState(int sleepType) {
        if (sleepType == SLP_TYP_S5) {
            LOG.log(System.Logger.Level.DEBUG, "acpi: guest entered S5, powering off");
            control.requestPowerOff();
        } else {
            // Only \_S5 is offered in the DSDT; other sleep states are not supported and are ignored.
            LOG.log(System.Logger.Level.WARNING, "acpi: guest asked for unsupported sleep type {0}", sleepType);
        }
    }

    // ---- state save/load ----

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public String id() {
        return "acpi-pm";
    }

    @Override
    public State state() {
        lock.lock();
        try {
            pollTimer(); // TMR_STS for a bit-23 change before the save is in pm1_sts
            long count = pausedCount >= 0 ? pausedCount : ticks();
            return new State(pm1Status, pm1Enable, pm1Control, (int) (count & 0xffffff));
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void restore(State s) {
        lock.lock();
        try {
            pm1Status = s.pm1Sts() & STS_MASK;
            pm1Enable = s.pm1En() & EN_MASK;
            pm1Control = s.pm1Cnt() & CNT_STORED;
            long count = s.tmrVal() & 0xffffffL;
            if (pausedCount >= 0) {
                pausedCount = count;
            } else {
                rebaseTimer(count);
            }
            sciAsserted = (pm1Status & pm1Enable) != 0;
            sci.setLevel(sciAsserted);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void pause() {
        lock.lock();
        try {
            if (pausedCount < 0) {
                pollTimer();
                pausedCount = ticks() & 0xffffff;
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void resume() {
        lock.lock();
        try {
            if (pausedCount >= 0) {
                rebaseTimer(pausedCount);
                pausedCount = -1;
            }
        } finally {
            lock.unlock();
        }
    }

    /** The timer counts on from {@code count}: its epoch lies as far back as that needs (rounded up). */
    private void rebaseTimer(long count) {
        long elapsed = (count / PM_TIMER_FREQUENCY) * NANOS_PER_SECOND
                + ((count % PM_TIMER_FREQUENCY) * NANOS_PER_SECOND + PM_TIMER_FREQUENCY - 1) / PM_TIMER_FREQUENCY;
        timerEpochNanos = nanoTime.getAsLong() - elapsed;
        timerHalfPeriodSeen = ticks() >>> 23;
    }

    // ---- timer and SCI (lock held) ----

    /** Ticks of the 3.579545 MHz timer since it started, without overflow for centuries of uptime. */
    private long ticks() {
        long elapsed = nanoTime.getAsLong() - timerEpochNanos;
        long seconds = Math.floorDiv(elapsed, NANOS_PER_SECOND);
        long nanos = Math.floorMod(elapsed, NANOS_PER_SECOND);
        return seconds * PM_TIMER_FREQUENCY + nanos * PM_TIMER_FREQUENCY / NANOS_PER_SECOND;
    }

    private void pollTimer() {
        long half = ticks() >>> 23;
        if (half != timerHalfPeriodSeen) {
            timerHalfPeriodSeen = half;
            pm1Status |= TMR_STS;
            updateSci();
        }
    }

    private void updateSci() {
        boolean level = (pm1Status & pm1Enable) != 0;
        if (level != sciAsserted) {
            sciAsserted = level;
            sci.setLevel(level);
        }
    }
}
