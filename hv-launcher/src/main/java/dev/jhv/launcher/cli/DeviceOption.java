package dev.jhv.launcher.cli;

import dev.jhv.devices.board.DeviceSpec;
import dev.jhv.devices.pci.PciAddress;

import java.util.Optional;
import java.util.Set;

/**
 * One -device option as QEMU spells it ("virtio-blk-pci,drive=d0,addr=5"): the driver first, then its properties.
 * A driver jhv does not have, or a property the driver does not have, is refused with QEMU's words.
 */
final class DeviceOption {
    static final int DEBUG_EXIT_DEFAULT_IOBASE = 0x501;
    static final int DEBUG_EXIT_DEFAULT_IOSIZE = 2;

    private DeviceOption() {
    }

    /** @throws IllegalArgumentException with the message QEMU would print after "-device TEXT: " */
    static DeviceSpec parse(String text) {
        var kv = KeyValueList.parse(text, "driver", Set.of());
        String driver = kv.take("driver");
        DeviceSpec spec = switch (driver == null ? "" : driver) {
            case "isa-debug-exit" -> debugExit(kv);
            case "virtio-blk-pci" -> new DeviceSpec.VirtioBlkPci(kv.take("id"), required(kv, driver, "drive"),
                    addr(kv), kv.take("serial"), numQueues(kv));
            case "virtio-net-pci" -> new DeviceSpec.VirtioNetPci(kv.take("id"), kv.take("netdev"), addr(kv),
                    kv.take("mac"));
            case "virtio-rng-pci" -> new DeviceSpec.VirtioRngPci(kv.take("id"), addr(kv));
            default -> throw new IllegalArgumentException("Device '" + driver + "' not found");
        };
        String unknown = kv.firstUnknown();
        if (unknown != null) {
            throw new IllegalArgumentException("Property '" + driver + "." + unknown + "' not found");
        }
        return spec;
    }

    private static DeviceSpec.IsaDebugExit debugExit(KeyValueList kv) {
        Long iobase = kv.takeUnsigned("iobase", "iobase");
        Long iosize = kv.takeUnsigned("iosize", "iosize");
        kv.take("id");
        int base = iobase == null ? DEBUG_EXIT_DEFAULT_IOBASE : (int) Math.min(iobase, Integer.MAX_VALUE);
        int size = iosize == null ? DEBUG_EXIT_DEFAULT_IOSIZE : (int) Math.min(iosize, Integer.MAX_VALUE);
        if (size != 1 && size != 2 && size != 4) {
            throw new IllegalArgumentException("iosize must be 1, 2 or 4");
        }
        if (base + size > 0x10000) {
            throw new IllegalArgumentException("iobase 0x" + Integer.toHexString(base)
                    + " is outside the I/O port space");
        }
        return new DeviceSpec.IsaDebugExit(base, size);
    }

    private static String required(KeyValueList kv, String driver, String key) {
        String v = kv.take(key);
        if (v == null || v.isEmpty()) {
            // QEMU 7.2: "-device virtio-blk-pci: drive property not set"
            throw new IllegalArgumentException(key + " property not set");
        }
        return v;
    }

    private static Optional<PciAddress> addr(KeyValueList kv) {
        String a = kv.take("addr");
        return a == null ? Optional.empty() : Optional.of(PciAddress.parseAddr(a));
    }

    private static int numQueues(KeyValueList kv) {
        Long n = kv.takeUnsigned("num-queues", "num-queues");
        if (n == null) {
            return 0;
        }
        if (n < 1 || n > 1024) {
            throw new IllegalArgumentException("num-queues property must be between 1 and 1024");
        }
        return n.intValue();
    }
}
