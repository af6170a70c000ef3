package dev.jhv.devices.sysctl;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.devices.platform.SystemControl;

import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The PS/2 System Control Port A at 0x92 ("port 92"): bit 1 is the fast A20 gate, bit 0 the fast reset.
 * Setting bit 0 (a 0 to 1 change) resets the machine. A20 is kept only as a value to read back: guest memory
 * is never wrapped at 1 MiB (KVM has no A20 masking), which is what every modern guest wants anyway.
 */
public final class SystemControlPortA implements BusHandler {
    public static final int PORT = 0x92;
    static final int FAST_RESET = 0x01;
    static final int A20 = 0x02;

    private final SystemControl control;
    private final ReentrantLock lock = new ReentrantLock();
    private int value;

    public SystemControlPortA(SystemControl control) {
        this.control = Objects.requireNonNull(control, "control");
    }

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
        boolean reset;
        lock.lock();
        try {
            int v = (int) written & (FAST_RESET | A20);
            reset = (v & FAST_RESET) != 0 && (value & FAST_RESET) == 0;
            value = v;
        } finally {
            lock.unlock();
        }
        if (reset) {
            control.requestReset();
        }
    }
}
