package dev.jhv.devices.debug;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.device.Device;
import dev.jhv.devices.DeviceException;
import dev.jhv.devices.platform.SystemControl;

import java.util.Objects;

/**
 * QEMU's {@code -device isa-debug-exit,iobase=…,iosize=…}: a guest write of value v ends the VMM with exit
 * status {@code (v << 1) | 1}, so a test guest can report success or failure without an ACPI stack.
 * Stateless; reads return 0.
 */
public final class IsaDebugExit implements BusHandler, Device {
    public static final int DEFAULT_IOBASE = 0x501;
    public static final int DEFAULT_IOSIZE = 2;

    private final int iobase;
    private final int iosize;
    private final SystemControl control;

    public IsaDebugExit(int iobase, int iosize, SystemControl control) {
        if (iosize != 1 && iosize != 2 && iosize != 4) {
            throw new DeviceException("isa-debug-exit: iosize must be 1, 2 or 4, not " + iosize);
        }
        if (iobase < 0 || iobase + iosize > 0x10000) {
            throw new DeviceException(String.format("isa-debug-exit: iobase 0x%x is outside the I/O space", iobase));
        }
        this.iobase = iobase;
        this.iosize = iosize;
        this.control = Objects.requireNonNull(control, "control");
    }

    public int iobase() {
        return iobase;
    }

    public int iosize() {
        return iosize;
    }

    /** The process exit status a guest write of {@code value} asks for. */
    public static int exitStatus(long value) {
        return (int) ((value << 1) | 1);
    }

    @Override
    public long read(long offset, int size) {
        return 0;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset < 0 || offset >= iosize) {
            return;
        }
        // The value as written (zero-extended to the access size), as QEMU passes it on; the operating system
        // keeps the low 8 bits of the status.
        control.requestExit(exitStatus(value));
    }
}
