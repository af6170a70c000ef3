package dev.jhv.devices.pci;

import java.util.Arrays;

/**
 * The 256 bytes of a function's configuration space, with a per-byte write mask (bits the guest may set) and
 * write-1-to-clear mask (bits a guest 1 clears). Guest writes go through {@link #write}; the device itself sets
 * any bit with the {@code set*} methods.
 */
public final class PciConfigSpace {
    public static final int SIZE = 256;

    public static final int VENDOR_ID = 0x00;
    public static final int DEVICE_ID = 0x02;
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int REVISION_ID = 0x08;
    public static final int PROG_IF = 0x09;
    public static final int CLASS_CODE = 0x0a;
    public static final int CACHE_LINE_SIZE = 0x0c;
    public static final int LATENCY_TIMER = 0x0d;
    public static final int HEADER_TYPE = 0x0e;
    public static final int BAR0 = 0x10;
    public static final int SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int SUBSYSTEM_ID = 0x2e;
    public static final int ROM_ADDRESS = 0x30;
    public static final int CAPABILITIES_POINTER = 0x34;
    public static final int INTERRUPT_LINE = 0x3c;
    public static final int INTERRUPT_PIN = 0x3d;
    /** First byte after the type-0 header: device-specific registers and capabilities. */
    public static final int DEVICE_SPECIFIC = 0x40;

    public static final int COMMAND_IO = 1 << 0;
    public static final int COMMAND_MEMORY = 1 << 1;
    public static final int COMMAND_MASTER = 1 << 2;
    public static final int COMMAND_SERR = 1 << 8;
    public static final int COMMAND_INTX_DISABLE = 1 << 10;
    /** What QEMU lets a guest set in the command register (the rest reads 0). */
    static final int COMMAND_WRITABLE = COMMAND_IO | COMMAND_MEMORY | COMMAND_MASTER | COMMAND_SERR
            | COMMAND_INTX_DISABLE;

    public static final int STATUS_INTERRUPT = 1 << 3;
    public static final int STATUS_CAP_LIST = 1 << 4;
    public static final int STATUS_FAST_BACK = 1 << 7;
    public static final int STATUS_DEVSEL_MEDIUM = 1 << 9;
    /** Master data parity error, signaled/received target abort, received master abort, SERR, parity. */
    static final int STATUS_W1C = (1 << 8) | 0xf800;

    public static final int HEADER_MULTI_FUNCTION = 0x80;

    private final byte[] bytes = new byte[SIZE];
    private final byte[] writable = new byte[SIZE];
    private final byte[] w1c = new byte[SIZE];
    /** Bytes outside the header that must match on a restore (capability IDs and links). */
    private final boolean[] fixed = new boolean[SIZE];
    private int lastCapability;

    /** A type-0 header: the identity, QEMU's writable command bits, W1C error bits, cache line size, interrupt line. */
    public PciConfigSpace(PciIdentity id, int headerType, int interruptPin) {
        if (interruptPin < 0 || interruptPin > 4) {
            throw new IllegalArgumentException("interrupt pin " + interruptPin + " is not 0 (none) or 1..4 (INTA..INTD)");
        }
        set16(VENDOR_ID, id.vendor());
        set16(DEVICE_ID, id.device());
        set8(REVISION_ID, id.revision());
        set8(PROG_IF, id.progIf());
        set16(CLASS_CODE, id.classCode());
        set8(HEADER_TYPE, headerType);
        set16(SUBSYSTEM_VENDOR_ID, id.subsystemVendor());
        set16(SUBSYSTEM_ID, id.subsystem());
        set8(INTERRUPT_PIN, interruptPin);
        setWriteMask(COMMAND, 2, COMMAND_WRITABLE);
        setW1cMask(STATUS, 2, STATUS_W1C);
        setWriteMask(CACHE_LINE_SIZE, 1, 0xff);
        setWriteMask(INTERRUPT_LINE, 1, 0xff);
    }

    // ---- guest side ----

    /** {@code size} bytes (1..4, little-endian) from {@code reg}; bytes past the end read as ones. */
    public int read(int reg, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) {
            int r = reg + i;
            v |= (r >= 0 && r < SIZE ? bytes[r] & 0xff : 0xff) << (8 * i);
        }
        return v;
    }

    /** A guest write through the masks; bytes past the end are dropped. */
    public void write(int reg, int size, int value) {
        for (int i = 0; i < size; i++) {
            int r = reg + i;
            if (r < 0 || r >= SIZE) {
                continue;
            }
            int b = (value >>> (8 * i)) & 0xff;
            int w = writable[r] & 0xff;
            int old = bytes[r] & 0xff;
            int next = (old & ~w) | (b & w);
            next &= ~(b & w1c[r] & 0xff);
            bytes[r] = (byte) next;
        }
    }

    // ---- device side ----

    public int get8(int reg) {
        return bytes[reg] & 0xff;
    }

    public int get16(int reg) {
        return read(reg, 2);
    }

    public int get32(int reg) {
        return read(reg, 4);
    }

    public void set8(int reg, int value) {
        bytes[reg] = (byte) value;
    }

    public void set16(int reg, int value) {
        set(reg, 2, value);
    }

    public void set32(int reg, int value) {
        set(reg, 4, value);
    }

    private void set(int reg, int size, int value) {
        for (int i = 0; i < size; i++) {
            bytes[reg + i] = (byte) (value >>> (8 * i));
        }
    }

    /** The bits of {@code size} bytes from {@code reg} a guest may change (the rest keep their value). */
    public void setWriteMask(int reg, int size, int mask) {
        for (int i = 0; i < size; i++) {
            writable[reg + i] = (byte) (mask >>> (8 * i));
        }
    }

    public void setW1cMask(int reg, int size, int mask) {
        for (int i = 0; i < size; i++) {
            w1c[reg + i] = (byte) (mask >>> (8 * i));
        }
    }

    /** Every bit of {@code length} bytes from {@code reg} writable: registers a device only stores. */
    public void setStored(int reg, int length) {
        Arrays.fill(writable, reg, reg + length, (byte) 0xff);
    }

    public int writeMask(int reg) {
        return writable[reg] & 0xff;
    }

    /**
     * Adds a capability of {@code length} bytes (ID and next pointer included) at the first dword after the
     * last one added (from 0x40), links it at the end of the list, sets the status register's capability bit.
     *
     * @return the capability's offset
     */
    public int addCapability(int id, int length) {
        int at = lastCapability == 0 ? DEVICE_SPECIFIC
                : (lastCapability + capabilityLength[lastCapability] + 3) & ~3;
        return addCapability(id, length, at);
    }

    private final int[] capabilityLength = new int[SIZE];

    /** Adds a capability at {@code offset} (dword-aligned, inside 0x40–0xff). @return the offset */
    public int addCapability(int id, int length, int offset) {
        if (offset < DEVICE_SPECIFIC || (offset & 3) != 0 || length < 2 || offset + length > SIZE) {
            throw new IllegalArgumentException(String.format(
                    "capability 0x%02x of %d bytes cannot sit at 0x%02x", id, length, offset));
        }
        for (int i = offset; i < offset + length; i++) {
            if (fixed[i] || capabilityOwner(i)) {
                throw new IllegalArgumentException(String.format(
                        "capability 0x%02x at 0x%02x overlaps another capability", id, offset));
            }
        }
        set8(offset, id);
        set8(offset + 1, 0);
        fixed[offset] = true;
        fixed[offset + 1] = true;
        capabilityLength[offset] = length;
        if (lastCapability == 0) {
            set8(CAPABILITIES_POINTER, offset);
        } else {
            set8(lastCapability + 1, offset);
        }
        lastCapability = offset;
        set16(STATUS, get16(STATUS) | STATUS_CAP_LIST);
        return offset;
    }

    private boolean capabilityOwner(int reg) {
        for (int c = DEVICE_SPECIFIC; c < SIZE; c += 4) {
            if (capabilityLength[c] > 0 && reg >= c && reg < c + capabilityLength[c]) {
                return true;
            }
        }
        return false;
    }

    /** A copy of the 256 bytes. */
    public byte[] snapshot() {
        return bytes.clone();
    }

    /** Replaces the 256 bytes (a reset or a restore); the masks stay. */
    void load(byte[] image) {
        System.arraycopy(image, 0, bytes, 0, SIZE);
    }

    /**
     * Whether a byte's value is fixed by the device's make: the header's bits no guest can write (except the
     * interrupt status bit, which follows the device) and capability IDs and links.
     */
    int fixedMask(int reg) {
        if (reg < DEVICE_SPECIFIC) {
            int m = ~(writable[reg] | w1c[reg]) & 0xff;
            if (reg == STATUS) {
                m &= ~STATUS_INTERRUPT;
            }
            if (reg == INTERRUPT_LINE) {
                m = 0;
            }
            return m;
        }
        return fixed[reg] ? 0xff : 0;
    }
}
