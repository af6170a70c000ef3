package dev.jhv.devices.acpi;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.devices.platform.SystemControl;

import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The PIIX reset control register at port 0xCF9, also the FADT's ACPI reset register (value 0x06).
 * Bit 1 (SRST) selects a hard reset and is kept; writing bit 2 (RCPU) resets the machine, as QEMU's PIIX does,
 * so both the ACPI value 0x06 and the 0x02-then-0x06 sequence of Linux's {@code reboot=pci} work.
 *
 * <p>The port lies inside the PCI configuration address register's 0xCF8–0xCFB: a PCI host bridge that claims
 * those ports must pass single-byte accesses to 0xCF9 here.
 */
public final class ResetControl implements BusHandler {
    public static final int PORT = 0xcf9;
    /** The value the FADT's RESET_VALUE gives for RESET_REG = I/O port 0xCF9. */
    public static final int RESET_VALUE = 0x06;
    static final int SRST = 0x02;
    static final int RCPU = 0x04;

    private final SystemControl control;
    private final ReentrantLock lock = new ReentrantLock();
    private int value;

    public ResetControl(SystemControl control) {
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
        int v = (int) written & 0xff;
        lock.lock();
        try {
            value = (v & RCPU) != 0 ? 0 : v & SRST;
        } finally {
            lock.unlock();
        }
        if ((v & RCPU) != 0) {
            control.requestReset();
        }
    }
}
