package dev.jhv.core.vcpu;

import java.util.concurrent.locks.LockSupport;

/**
 * Takes time slices from one vCPU thread, as QEMU's cpu-throttle does: at p% a timer ticks every 10 ms / (1 - p),
 * kicks the vCPU out of KVM_RUN, and the vCPU sleeps p / (1 - p) x 10 ms before it enters the guest again; so it
 * runs 10 ms of every tick period. The guest only gets less CPU: the in-kernel LAPIC and PIT keep its time.
 * The timer thread ("cpu-throttle-N") lives only while the percentage is above 0; setting 0 ends the sleep under
 * way at once.
 */
public final class CpuThrottle {
    /** QEMU's CPU_THROTTLE_TIMESLICE_NS. */
    public static final long TIMESLICE_NS = 10_000_000;
    public static final int MAX_PERCENT = 99;

    private final String name;
    private final Runnable kick;
    private volatile int percent;
    /** A tick asked the vCPU to sleep once; cleared when it has (QEMU's throttle_thread_scheduled). */
    private volatile boolean owed;
    private volatile Thread sleeper;
    private Thread timer;
    private long sleptNanos;

    /** @param kick gets the vCPU thread out of KVM_RUN */
    CpuThrottle(String name, Runnable kick) {
        this.name = name;
        this.kick = kick;
    }

    public int percent() {
        return percent;
    }

    /** Total time the vCPU has slept for the throttle (for measurements). */
    public synchronized long sleptNanos() {
        return sleptNanos;
    }

    /**
     * Sets the share of time taken from the vCPU, 0 (none: ends at once) to 99.
     *
     * @throws IllegalArgumentException outside 0..99
     */
    public synchronized void set(int pct) {
        if (pct < 0 || pct > MAX_PERCENT) {
            throw new IllegalArgumentException("cpu throttle percentage " + pct + " is not within 0.." + MAX_PERCENT);
        }
        percent = pct;
        if (pct == 0) {
            wake();
            Thread t = timer;
            if (t != null) {
                LockSupport.unpark(t);
            }
            return;
        }
        if (timer == null) {
            timer = Thread.ofPlatform().name("cpu-throttle-" + name).daemon(true).start(this::tick);
        }
    }

    /** Ends the sleep under way, if any (a pause, a stop or the end of throttling). */
    void wake() {
        Thread t = sleeper;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** The sleep per slice at {@code pct}, as QEMU computes it (ratio p / (1 - p) of the 10 ms slice). */
    public static long sleepNanos(int pct) {
        if (pct <= 0) {
            return 0;
        }
        double p = pct / 100.0;
        return (long) (p / (1 - p) * TIMESLICE_NS + 1);
    }

    /** The timer's period at {@code pct}: the 10 ms the vCPU runs plus what it sleeps. */
    static long periodNanos(int pct) {
        return (long) (TIMESLICE_NS / (1 - pct / 100.0));
    }

    private void tick() {
        long next = System.nanoTime();
        while (true) {
            int p = percent;
            if (p == 0) {
                synchronized (this) { // a set() racing with the end starts no second timer, and loses none
                    if (percent == 0) {
                        timer = null;
                        return;
                    }
                }
                continue;
            }
            long now = System.nanoTime();
            if (now < next) {
                LockSupport.parkNanos(next - now);
                continue;
            }
            if (!owed) {
                owed = true;
                kick.run();
            }
            next = now + periodNanos(p);
        }
    }

    /**
     * The vCPU thread's hook between two KVM_RUNs: if a tick came, sleeps this slice's share, cut short when the
     * throttle ends or {@code wantsOut} says the vCPU must park or stop.
     */
    void takeOwedSleep(java.util.function.BooleanSupplier wantsOut) {
        if (!owed) {
            return;
        }
        long t0 = System.nanoTime();
        long end = t0 + sleepNanos(percent);
        sleeper = Thread.currentThread();
        try {
            long now;
            while ((now = System.nanoTime()) < end && percent > 0 && !wantsOut.getAsBoolean()) {
                LockSupport.parkNanos(end - now);
            }
        } finally {
            sleeper = null;
            owed = false;
            synchronized (this) {
                sleptNanos += System.nanoTime() - t0;
            }
        }
    }
}
