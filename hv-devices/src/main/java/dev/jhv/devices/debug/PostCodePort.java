package dev.jhv.devices.debug;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.device.Device;

/**
 * Port 0x80, where firmware writes POST codes and Linux writes to pause for an I/O cycle. Writes are kept
 * only as the last code (for the monitor or a trace); reads return 0xFF, as from an empty ISA port.
 */
public final class PostCodePort implements BusHandler, Device {
    public static final int PORT = 0x80;
    private static final System.Logger LOG = System.getLogger(PostCodePort.class.getName());

    private volatile int lastCode;

    public int lastCode() {
        return lastCode;
    }

    @Override
    public long read(long offset, int size) {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    @Override
    public void write(long offset, int size, long value) {
        lastCode = (int) value & 0xff;
        if (LOG.isLoggable(System.Logger.Level.TRACE)) {
            LOG.log(System.Logger.Level.TRACE, "POST code 0x{0}", Integer.toHexString(lastCode));
        }
    }
}
