package dev.jhv.devices.platform;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.device.Stateful;

import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A one-byte I/O register that keeps a value and asks for a machine reset on certain writes (the PIIX reset
 * control register 0xCF9, System Control Port A 0x92). Subclasses say what a write stores and whether it resets.
 */
public abstract class ResetTriggerRegister implements BusHandler, Stateful<ResetTriggerRegister.State> {
    /** The value the register keeps. */
    public record State(int value) { }

    private final SystemControl control;
    private final ReentrantLock lock = new ReentrantLock();
    private int value;

    protected ResetTriggerRegister(SystemControl control) {
        this.control = Objects.requireNonNull(control, "control");
    }

    /** The value kept after {@code written} replaces {@code old}. */
    protected abstract int stored(int old, int written);

    /** Whether writing {@code written} over {@code old} resets the machine. */
    protected abstract boolean resets(int old, int written);

    /** The bits a write can leave set (what a loaded value is masked with). */
    protected abstract int storedMask();

    @Override
    public final State state() {
        lock.lock();
        try {
            return new State(value);
        } finally {
            lock.unlock();
        }
    }

    /** A load never triggers a reset. */
    @Override
    public final void restore(State s) {
        lock.lock();
        try {
            value = s.value() & storedMask();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void reset() {
        lock.lock();
        try {
            value = 0;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long read(long offset, int size) {
        if (offset != 0) {
            return 0xff;
        }
        lock.lock();
        try {
            return value;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void write(long offset, int size, long written) {
        if (offset != 0) {
            return;
        }
        int v = (int) written & 0xff;
        boolean reset;
        lock.lock();
        try {
            reset = resets(value, v);
            value = stored(value, v);
        } finally {
            lock.unlock();
        }
        if (reset) {
            control.requestReset(); // outside the lock: the machine may call back into devices
        }
    }
}
