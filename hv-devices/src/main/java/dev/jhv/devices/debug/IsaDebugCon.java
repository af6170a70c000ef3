package dev.jhv.devices.debug;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.device.Device;

import java.io.IOException;
import java.io.OutputStream;

/**
 * QEMU's isa-debugcon: a port whose written bytes go to a host stream (SeaBIOS logs to port 0x402 this way, and
 * guests print to 0xE9). Reads return 0xE9, QEMU's readback value, by which a guest knows the port is there.
 */
public final class IsaDebugCon implements BusHandler, Device {
    public static final int SEABIOS_PORT = 0x402;
    private static final int READBACK = 0xE9;

    private final OutputStream out;

    public IsaDebugCon(OutputStream out) {
        this.out = out;
    }

    @Override
    public long read(long offset, int size) {
        return READBACK;
    }

    @Override
    public void write(long offset, int size, long value) {
        try {
            out.write((int) value);
            if (value == '\n') {
                out.flush();
            }
        } catch (IOException e) {
            // a log that cannot be written loses its bytes; the guest goes on
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            // nothing left to keep
        }
    }
}
