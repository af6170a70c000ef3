package dev.jhv.devices.pci;

import dev.jhv.core.bus.BusHandler;

import java.util.Objects;

/**
 * PCI configuration mechanism #1 of the i440FX, ports 0xCF8–0xCFF, one handler:
 * <pre>
 *   0xCF8 dword    CONFIG_ADDRESS: bit 31 enable, 23:16 bus, 15:11 device, 10:8 function, 7:2 register
 *   0xCFC–0xCFF    CONFIG_DATA: byte, word or dword at (register + port - 0xCFC)
 *   0xCF9 byte     the PIIX reset control register (passed to the given handler)
 * </pre>
 * Only a dword reaches CONFIG_ADDRESS; other accesses to 0xCF8–0xCFB go to the ISA side, where nothing but the
 * reset register answers: they read all ones and writes are dropped. Data accesses while the enable bit is off,
 * or to absent functions, read all ones.
 */
public final class PciConfigPorts implements BusHandler {
    public static final int BASE = 0xcf8;
    public static final int LENGTH = 8;
    static final int ENABLE = 0x8000_0000;
    /** Bits CONFIG_ADDRESS keeps: enable, bus, device, function, dword register; the reserved ones read 0. */
    static final int ADDRESS_MASK = 0x80ff_fffc;
    private static final int RESET_CONTROL_OFFSET = 1;
    private static final int DATA_OFFSET = 4;

    private final PciBus bus;
    private final BusHandler resetControl;
    private volatile int configAddress;

    /** @param resetControl the register at 0xCF9 ({@code dev.jhv.devices.acpi.ResetControl}), offsets from 0 */
    public PciConfigPorts(PciBus bus, BusHandler resetControl) {
        this.bus = Objects.requireNonNull(bus, "bus");
        this.resetControl = Objects.requireNonNull(resetControl, "resetControl");
    }

    public int configAddress() {
        return configAddress;
    }

    @Override
    public long read(long offset, int size) {
        long ones = size >= 8 ? -1L : (1L << (8 * size)) - 1;
        if (offset == 0 && size == 4) {
            return configAddress & 0xffffffffL;
        }
        if (offset == RESET_CONTROL_OFFSET && size == 1) {
            return resetControl.read(0, 1) & 0xff;
        }
        if (offset < DATA_OFFSET || offset >= LENGTH) {
            return ones;
        }
        int address = configAddress;
        int n = (int) Math.min(size, LENGTH - offset);
        if ((address & ENABLE) == 0 || n > 4) {
            return ones;
        }
        long v = bus.configRead(busOf(address), devfnOf(address), registerOf(address, offset), n) & mask(n);
        return v | (ones & ~mask(n));
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset == 0 && size == 4) {
            configAddress = (int) value & ADDRESS_MASK;
            return;
        }
        if (offset == RESET_CONTROL_OFFSET && size == 1) {
            resetControl.write(0, 1, value & 0xff);
            return;
        }
        if (offset < DATA_OFFSET || offset >= LENGTH) {
            return;
        }
        int address = configAddress;
        int n = (int) Math.min(size, LENGTH - offset);
        if ((address & ENABLE) == 0 || n > 4) {
            return;
        }
        bus.configWrite(busOf(address), devfnOf(address), registerOf(address, offset), n, (int) value);
    }

    private static long mask(int n) {
        return (1L << (8 * n)) - 1;
    }

    private static int busOf(int address) {
        return (address >>> 16) & 0xff;
    }

    private static int devfnOf(int address) {
        return (address >>> 8) & 0xff;
    }

    private static int registerOf(int address, long offset) {
        return (address & 0xfc) + (int) (offset - DATA_OFFSET);
    }
}
