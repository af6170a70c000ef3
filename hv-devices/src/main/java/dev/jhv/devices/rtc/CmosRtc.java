package dev.jhv.devices.rtc;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.irq.IrqLine;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.vmstate.RecordDescription;

import java.time.Clock;
import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The Motorola MC146818 real-time clock and its 128 bytes of CMOS RAM, at ports 0x70 (index; bit 7 masks NMI)
 * and 0x71 (data), IRQ 8.
 *
 * <p>The clock starts at the host's UTC time (QEMU's default {@code -rtc base=utc}) and runs with the given
 * {@link Clock}; the time registers are computed from it when read, in BCD or binary (register B bit 2) and
 * 12- or 24-hour form (bit 1). Register B's SET bit freezes them: the guest writes the new time, and clearing
 * SET starts the clock from it. Register A's UIP bit is set during the last 244 µs of each second, the window
 * before an update in which the datasheet says the time must not be read.
 *
 * <p>Interrupt flags in register C (periodic, alarm, update-ended) are computed from the clock whenever C is
 * read. Given a timer executor, the RTC also wakes itself at the next enabled event and asserts IRQ 8 until the
 * guest reads C; without one (or while no interrupt is enabled) no task is scheduled and no thread runs.
 *
 * <p>The CMOS bytes QEMU's PC machine fills in (memory sizes, CPU count, century) are set at construction.
 */
public final class CmosRtc implements BusHandler, Stateful<CmosRtc.State> {
    public static final int INDEX_PORT = 0x70;
    public static final int DATA_PORT = 0x71;
    public static final int PORT_COUNT = 2;
    public static final int IRQ = 8;
    static final int CMOS_SIZE = 128;

    // Registers.
    static final int SECONDS = 0x00;
    static final int SECONDS_ALARM = 0x01;
    static final int MINUTES = 0x02;
    static final int MINUTES_ALARM = 0x03;
    static final int HOURS = 0x04;
    static final int HOURS_ALARM = 0x05;
    static final int DAY_OF_WEEK = 0x06;
    static final int DAY_OF_MONTH = 0x07;
    static final int MONTH = 0x08;
    static final int YEAR = 0x09;
    static final int REG_A = 0x0a;
    static final int REG_B = 0x0b;
    static final int REG_C = 0x0c;
    static final int REG_D = 0x0d;
    static final int CENTURY = 0x32;

    static final int A_UIP = 0x80;
    static final int B_SET = 0x80;
    static final int B_PIE = 0x40;
    static final int B_AIE = 0x20;
    static final int B_UIE = 0x10;
    static final int B_BINARY = 0x04;
    static final int B_24H = 0x02;
    static final int C_IRQF = 0x80;
    static final int C_PF = 0x40;
    static final int C_AF = 0x20;
    static final int C_UF = 0x10;
    static final int D_VRT = 0x80;

    /** The update cycle takes 1984 µs; UIP rises 244 µs before it starts. */
    static final long UIP_WINDOW_NANOS = 244_000;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;
    private static final System.Logger LOG = System.getLogger(CmosRtc.class.getName());

    /**
     * The RTC's state, as QEMU names the section: the 128 CMOS bytes (the time registers brought up to the
     * moment of saving, register C with the flags raised so far), the index register, the NMI mask, and where
     * the clock was within its second. After a load the clock's time base is recomputed from the restored
     * time registers (the guest's time continues from the saved time, in the saved BCD/binary and 12/24-hour
     * modes), IRQ 8 is driven from registers B and C and the wake-up timer re-armed.
     *
     * <p>The record is taken under the device lock and installed under it, so the timer thread never sees a
     * half-loaded state.
     */
    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "mc146818rtc", 1)
            .minimumVersion(1)
            .buffer("cmos_data", CMOS_SIZE)
            .u8("cmos_index")
            .bool("nmi_masked")
            .u32("sub_second_ns", "subSecondNs")
            .check(s -> Integer.toUnsignedLong(s.subSecondNs()) >= NANOS_PER_SECOND
                    ? "sub_second_ns " + Integer.toUnsignedLong(s.subSecondNs()) + " is not below one second"
                    : null)
            .build();

    /** The 128 CMOS bytes, the index register, the NMI mask and where the clock was within its second. */
    public record State(byte[] cmosData, int cmosIndex, boolean nmiMasked, int subSecondNs) { }

    private final Clock clock;
    private final IrqLine irq;
    private final ScheduledExecutorService timer;
    private final ReentrantLock lock = new ReentrantLock();
    private ScheduledFuture<?> pendingWakeup;
    /** Paused with the machine: no wake-up is scheduled and none runs. */
    private boolean paused;

    // Guest-visible state.
    private final byte[] cmos = new byte[CMOS_SIZE];
    private int index;
    private boolean nmiMasked;
    /** Guest time minus host clock time, in nanoseconds. */
    private long offsetNanos;
    /** Guest time (ns since the epoch) up to which the interrupt flags in register C have been brought. */
    private long flagsCheckedNanos;

    private boolean irqAsserted;

    /**
     * @param ramBelow4g bytes of RAM below 4 GiB (as in the e820 map, the PCI hole excluded)
     * @param ramAbove4g bytes of RAM from 4 GiB up
     * @param cpus       number of vCPUs
     * @param clock      the host clock the RTC follows ({@code Clock.systemUTC()} in a machine)
     */
    public CmosRtc(long ramBelow4g, long ramAbove4g, int cpus, Clock clock, IrqLine irq) {
        this(ramBelow4g, ramAbove4g, cpus, clock, irq, null);
    }

    /**
     * As above, with an executor that runs the RTC's wake-ups for periodic, alarm and update-ended interrupts
     * (null for none). The executor belongs to the caller, who shuts it down.
     */
    public CmosRtc(long ramBelow4g, long ramAbove4g, int cpus, Clock clock, IrqLine irq,
                   ScheduledExecutorService timer) {
        if (ramBelow4g < 0 || ramAbove4g < 0 || cpus < 1) {
            throw new IllegalArgumentException("bad RTC configuration: ram " + ramBelow4g + "/" + ramAbove4g
                    + ", cpus " + cpus);
        }
        this.clock = Objects.requireNonNull(clock, "clock");
        this.irq = Objects.requireNonNull(irq, "irq");
        this.timer = timer;
        lock.lock();
        try {
            cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
            cmos[REG_B] = B_24H;
            cmos[REG_D] = (byte) D_VRT;
            writeMemorySizes(ramBelow4g, ramAbove4g);
            cmos[0x14] = 0x06;  // equipment byte: FPU and PS/2 mouse present
            cmos[0x5f] = (byte) (cpus - 1);
            flagsCheckedNanos = guestNanos();
        } finally {
            lock.unlock();
        }
        irq.setLevel(false);
    }

    private void writeMemorySizes(long ramBelow4g, long ramAbove4g) {
        long base = Math.min(ramBelow4g / KIB, 640);
        put16(0x15, base);
        long extended = ramBelow4g > MIB ? Math.min((ramBelow4g - MIB) / KIB, 0xffff) : 0;
        put16(0x17, extended);
        put16(0x30, extended);
        long above16m = ramBelow4g > 16 * MIB ? Math.min((ramBelow4g - 16 * MIB) / (64 * KIB), 0xffff) : 0;
        put16(0x34, above16m);
        long above4g = Math.min(ramAbove4g / (64 * KIB), 0xffffff);
        put16(0x5b, above4g);
        cmos[0x5d] = (byte) (above4g >>> 16);
    }

    private void put16(int reg, long value) {
        cmos[reg] = (byte) value;
        cmos[reg + 1] = (byte) (value >>> 8);
    }

    /** Machine reset: the MC146818's RESET pin clears the interrupt enables and flags; time and RAM survive. */
    @Override
    public void reset() {
        lock.lock();
        try {
            cmos[REG_B] &= (byte) ~(B_PIE | B_AIE | B_UIE);
            cmos[REG_C] = 0;
            irqAsserted = false;
            irq.setLevel(false);
            armTimer();
        } finally {
            lock.unlock();
        }
    }

    /** Whether the guest has masked NMIs through bit 7 of the index port. */
    public boolean nmiMasked() {
        lock.lock();
        try {
            return nmiMasked;
        } finally {
            lock.unlock();
        }
    }

    // ---- BusHandler: offset 0 = port 0x70, offset 1 = port 0x71 ----

    @Override
    public long read(long offset, int size) {
        if (offset == 1) {
            return readData();
        }
        return 0xff; // the index register is write-only
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset == 0) {
            lock.lock();
            try {
                index = (int) value & 0x7f;
                nmiMasked = (value & 0x80) != 0;
            } finally {
                lock.unlock();
            }
            if (size >= 2) {
                write(1, 1, value >>> 8); // outw 0x70 also writes 0x71
            }
        } else if (offset == 1) {
            writeData((int) value & 0xff);
        }
    }

    int readData() {
        lock.lock();
        try {
            int reg = index;
            if (reg <= YEAR || reg == CENTURY) {
                if (!frozen()) {
                    storeTime(guestNanos());
                }
                return cmos[reg] & 0xff;
            }
            return switch (reg) {
                case REG_A -> {
                    int a = cmos[REG_A] & 0x7f;
                    yield updateInProgress() ? a | A_UIP : a;
                }
                case REG_C -> {
                    bringFlagsUpToDate();
                    int c = cmos[REG_C] & 0x70;
                    if ((c & cmos[REG_B] & (B_PIE | B_AIE | B_UIE)) != 0) {
                        c |= C_IRQF;
                    }
                    cmos[REG_C] = 0;
                    updateIrq();
                    yield c;
                }
                default -> cmos[reg] & 0xff;
            };
        } finally {
            lock.unlock();
        }
    }

    void writeData(int value) {
        lock.lock();
        try {
            int reg = index;
            if (reg <= YEAR || reg == CENTURY) {
                writeTimeRegister(reg, value);
                return;
            }
            switch (reg) {
                case REG_A -> {
                    bringFlagsUpToDate();
                    cmos[REG_A] = (byte) (value & 0x7f); // UIP is read-only
                    armTimer();
                }
                case REG_B -> writeRegisterB(value);
                case REG_C, REG_D -> { } // read-only
                default -> cmos[reg] = (byte) value;
            }
        } finally {
            lock.unlock();
        }
    }

    private void writeTimeRegister(int reg, int value) {
        boolean alarm = reg == SECONDS_ALARM || reg == MINUTES_ALARM || reg == HOURS_ALARM;
        if (alarm) {
            cmos[reg] = (byte) value;
            return;
        }
        if (frozen()) {
            cmos[reg] = (byte) value; // takes effect when SET is cleared
            return;
        }
        // Running clock: the write moves the time, keeping the phase within the second.
        long now = guestNanos();
        storeTime(now);
        cmos[reg] = (byte) value;
        bringFlagsUpToDate();
        setTimeFromRegisters(Math.floorMod(now, NANOS_PER_SECOND));
        flagsCheckedNanos = guestNanos();
        armTimer();
    }

    private void writeRegisterB(int value) {
        int old = cmos[REG_B] & 0xff;
        if ((value & B_SET) != 0 && (old & B_SET) == 0) {
            // Freeze: the registers hold the time at this moment, and update interrupts stop (UIE cleared).
            bringFlagsUpToDate();
            storeTime(guestNanos());
        }
        if ((value & B_SET) != 0) {
            value &= ~B_UIE;
        }
        cmos[REG_B] = (byte) value;
        if ((value & B_SET) == 0 && (old & B_SET) != 0) {
            // Run again from what the guest wrote, at the start of that second.
            setTimeFromRegisters(0);
            flagsCheckedNanos = guestNanos();
        }
        updateIrq();
    }

    // ---- device lifecycle and state ----

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public String id() {
        return "rtc";
    }

    /** The time registers brought up to now, and register C with the flags raised so far. */
    @Override
    public State state() {
        lock.lock();
        try {
            bringFlagsUpToDate();
            int phase = 0; // SET: the registers hold the time; it starts at a whole second
            if (!frozen()) {
                long now = guestNanos();
                storeTime(now);
                phase = (int) Math.floorMod(now, NANOS_PER_SECOND);
            }
            return new State(cmos.clone(), index, nmiMasked, phase);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void restore(State s) {
        long phase = Integer.toUnsignedLong(s.subSecondNs());
        if (phase >= NANOS_PER_SECOND) {
            throw new IllegalArgumentException("sub_second_ns " + phase + " is not below one second");
        }
        if (s.cmosData().length != CMOS_SIZE) {
            throw new IllegalArgumentException("cmos_data has " + s.cmosData().length + " bytes, not " + CMOS_SIZE);
        }
        lock.lock();
        try {
            System.arraycopy(s.cmosData(), 0, cmos, 0, CMOS_SIZE);
            cmos[REG_A] &= 0x7f; // UIP is computed, never stored
            index = s.cmosIndex() & 0x7f;
            nmiMasked = s.nmiMasked();
            if (!frozen()) {
                setTimeFromRegisters(phase); // the time base from the restored registers
            }
            flagsCheckedNanos = guestNanos(); // flags up to the save are in register C already
            // Drive IRQ 8 from B and C whatever this instance drove before, then re-arm the wake-up.
            boolean pending = (cmos[REG_C] & cmos[REG_B] & (B_PIE | B_AIE | B_UIE)) != 0;
            if (pending) {
                cmos[REG_C] |= (byte) C_IRQF;
            }
            irqAsserted = pending;
            irq.setLevel(pending);
            armTimer();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void pause() {
        lock.lock();
        try {
            paused = true;
            if (pendingWakeup != null) {
                pendingWakeup.cancel(false);
                pendingWakeup = null;
            }
        } finally {
            lock.unlock();
        }
    }

    /** The flags raised while paused are in register C at the next read; the wake-up is armed again. */
    @Override
    public void resume() {
        lock.lock();
        try {
            paused = false;
            bringFlagsUpToDate();
            updateIrq();
            armTimer();
        } finally {
            lock.unlock();
        }
    }

    // ---- time keeping (lock held) ----

    private boolean frozen() {
        return (cmos[REG_B] & B_SET) != 0;
    }

    private long guestNanos() {
        var now = clock.instant();
        return Math.addExact(Math.multiplyExact(now.getEpochSecond(), NANOS_PER_SECOND), now.getNano())
                + offsetNanos;
    }

    private boolean updateInProgress() {
        if (frozen() || (cmos[REG_A] & 0x70) != 0x20) {
            return false; // no updates while SET or with the divider not running
        }
        return Math.floorMod(guestNanos(), NANOS_PER_SECOND) >= NANOS_PER_SECOND - UIP_WINDOW_NANOS;
    }

    private void storeTime(long nanos) {
        var t = LocalDateTime.ofEpochSecond(Math.floorDiv(nanos, NANOS_PER_SECOND), 0, ZoneOffset.UTC);
        cmos[SECONDS] = (byte) encode(t.getSecond());
        cmos[MINUTES] = (byte) encode(t.getMinute());
        cmos[HOURS] = (byte) encodeHour(t.getHour());
        cmos[DAY_OF_WEEK] = (byte) encode(t.getDayOfWeek().getValue() % 7 + 1); // Sunday = 1
        cmos[DAY_OF_MONTH] = (byte) encode(t.getDayOfMonth());
        cmos[MONTH] = (byte) encode(t.getMonthValue());
        cmos[YEAR] = (byte) encode(t.getYear() % 100);
        cmos[CENTURY] = (byte) encode(t.getYear() / 100 % 100);
    }

    private void setTimeFromRegisters(long nanoOfSecond) {
        try {
            int year = decode(cmos[CENTURY]) * 100 + decode(cmos[YEAR]);
            var t = LocalDateTime.of(year, decode(cmos[MONTH]), decode(cmos[DAY_OF_MONTH]),
                    decodeHour(cmos[HOURS]), decode(cmos[MINUTES]), decode(cmos[SECONDS]));
            long target = Math.addExact(
                    Math.multiplyExact(t.toEpochSecond(ZoneOffset.UTC), NANOS_PER_SECOND), nanoOfSecond);
            var now = clock.instant();
            offsetNanos = target - Math.addExact(Math.multiplyExact(now.getEpochSecond(), NANOS_PER_SECOND),
                    now.getNano());
        } catch (DateTimeException | ArithmeticException e) {
            // The guest wrote a date that does not exist: keep the clock where it was, as the registers said.
            LOG.log(System.Logger.Level.DEBUG, "rtc: ignoring invalid time written by the guest: {0}",
                    e.getMessage());
        }
    }

    private boolean binary() {
        return (cmos[REG_B] & B_BINARY) != 0;
    }

    private int encode(int value) {
        return binary() ? value : (value / 10) << 4 | value % 10;
    }

    private int decode(byte raw) {
        int v = raw & 0xff;
        return binary() ? v : (v >>> 4) * 10 + (v & 0x0f);
    }

    private int encodeHour(int hour) {
        if ((cmos[REG_B] & B_24H) != 0) {
            return encode(hour);
        }
        int h12 = hour % 12 == 0 ? 12 : hour % 12;
        return encode(h12) | (hour >= 12 ? 0x80 : 0);
    }

    private int decodeHour(byte raw) {
        if ((cmos[REG_B] & B_24H) != 0) {
            return decode(raw);
        }
        boolean pm = (raw & 0x80) != 0;
        int h12 = decode((byte) (raw & 0x7f));
        return h12 % 12 + (pm ? 12 : 0);
    }

    // ---- interrupt flags (lock held) ----

    /**
     * Sets PF, UF and AF for whatever happened between the last check and now: a periodic tick, a second
     * boundary (update ended), a second whose time matches the alarm.
     */
    private void bringFlagsUpToDate() {
        long now = guestNanos();
        long last = flagsCheckedNanos;
        flagsCheckedNanos = now;
        if (now <= last || frozen() || dividerInReset()) {
            return;
        }
        int flags = 0;
        long period = periodicNanos();
        if (period > 0 && Math.floorDiv(now, period) != Math.floorDiv(last, period)) {
            flags |= C_PF;
        }
        long lastSecond = Math.floorDiv(last, NANOS_PER_SECOND);
        long nowSecond = Math.floorDiv(now, NANOS_PER_SECOND);
        if (nowSecond != lastSecond) {
            flags |= C_UF;
            // Check the alarm on each update since the last look (at most one day's worth matters).
            long first = Math.max(lastSecond + 1, nowSecond - 86_400);
            for (long s = first; s <= nowSecond; s++) {
                if (alarmMatches(s)) {
                    flags |= C_AF;
                    break;
                }
            }
        }
        cmos[REG_C] |= (byte) flags;
    }

    private boolean alarmMatches(long epochSecond) {
        var t = LocalDateTime.ofEpochSecond(epochSecond, 0, ZoneOffset.UTC);
        return alarmField(SECONDS_ALARM, encode(t.getSecond()))
                && alarmField(MINUTES_ALARM, encode(t.getMinute()))
                && alarmField(HOURS_ALARM, encodeHour(t.getHour()));
    }

    /** An alarm byte with its two top bits set ("don't care") matches every value. */
    private boolean alarmField(int reg, int current) {
        int alarm = cmos[reg] & 0xff;
        return (alarm & 0xc0) == 0xc0 || alarm == current;
    }

    /** The periodic interrupt's period from register A's rate select, or 0 when off. */
    private long periodicNanos() {
        int rate = cmos[REG_A] & 0x0f;
        if (rate == 0) {
            return 0;
        }
        if (rate <= 2) {
            rate += 7; // rates 1 and 2 repeat 8 and 9 with a 32.768 kHz time base
        }
        return NANOS_PER_SECOND * (1L << (rate - 1)) / 32_768;
    }

    private void updateIrq() {
        int c = cmos[REG_C] & 0x70;
        int enabled = cmos[REG_B] & (B_PIE | B_AIE | B_UIE);
        boolean pending = (c & enabled) != 0;
        if (pending) {
            cmos[REG_C] |= (byte) C_IRQF;
        }
        if (pending != irqAsserted) {
            irqAsserted = pending;
            irq.setLevel(pending);
        }
        armTimer();
    }

    /** Divider bits 11x hold the time base in reset: no updates, no periodic interrupts. */
    private boolean dividerInReset() {
        return (cmos[REG_A] & 0x60) == 0x60;
    }

    /**
     * Schedules a wake-up at the next event an enabled interrupt waits for; none while IRQ 8 is asserted
     * (the guest must read C first), while SET freezes the clock, or when nothing is enabled.
     */
    private void armTimer() {
        if (timer == null) {
            return;
        }
        if (paused) {
            return; // resume arms it
        }
        if (pendingWakeup != null) {
            pendingWakeup.cancel(false);
            pendingWakeup = null;
        }
        int enabled = cmos[REG_B] & (B_PIE | B_AIE | B_UIE);
        if (enabled == 0 || irqAsserted || frozen() || dividerInReset()) {
            return;
        }
        long now = guestNanos();
        long next = Long.MAX_VALUE;
        long period = periodicNanos();
        if ((enabled & B_PIE) != 0 && period > 0) {
            next = (Math.floorDiv(now, period) + 1) * period;
        }
        if ((enabled & (B_AIE | B_UIE)) != 0) {
            next = Math.min(next, (Math.floorDiv(now, NANOS_PER_SECOND) + 1) * NANOS_PER_SECOND);
        }
        if (next == Long.MAX_VALUE) {
            return;
        }
        try {
            pendingWakeup = timer.schedule(this::timerFired, Math.max(0, next - now), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // The machine is shutting down.
        }
    }

    /** The wake-up: bring the flags up to date and assert IRQ 8 if an enabled one is set. */
    void timerFired() {
        lock.lock();
        try {
            if (paused) {
                return; // a wake-up that was already running when the machine paused
            }
            bringFlagsUpToDate();
            updateIrq();
        } finally {
            lock.unlock();
        }
    }

    /** For tests and the monitor: the CMOS byte at {@code reg} as stored, without side effects. */
    int peek(int reg) {
        lock.lock();
        try {
            return cmos[Objects.checkIndex(reg, CMOS_SIZE)] & 0xff;
        } finally {
            lock.unlock();
        }
    }
}
