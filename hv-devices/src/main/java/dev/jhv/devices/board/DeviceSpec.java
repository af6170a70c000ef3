package dev.jhv.devices.board;

import dev.jhv.devices.pci.PciAddress;

import java.util.Optional;

/**
 * A device of the command line (-device, and what -drive and -netdev imply), as the board builds it. A new kind of
 * device is a new member here and a case in the board (or in the provider that builds it): nothing in hv-core
 * changes.
 */
public sealed interface DeviceSpec {
    /** QEMU's isa-debug-exit: a write of v to the port exits jhv with status (v << 1) | 1. */
    record IsaDebugExit(int iobase, int iosize) implements DeviceSpec { }

    /** A PCI function of -device: its driver name, its id (null when none was given) and its addr=, if any. */
    sealed interface Pci extends DeviceSpec {
        String driver();

        String id();

        Optional<PciAddress> addr();
    }

    /**
     * -device virtio-blk-pci,drive=ID[,serial=S][,num-queues=N][,addr=A], and what -drive if=virtio implies.
     *
     * @param numQueues 0 for the device's default
     */
    record VirtioBlkPci(String id, String drive, Optional<PciAddress> addr, String serial, int numQueues)
            implements Pci {
        @Override
        public String driver() {
            return "virtio-blk-pci";
        }
    }

    /** -device virtio-net-pci,netdev=ID[,mac=M][,addr=A], and -nic ...,model=virtio-net-pci; mac null: generated. */
    record VirtioNetPci(String id, String netdev, Optional<PciAddress> addr, String mac) implements Pci {
        @Override
        public String driver() {
            return "virtio-net-pci";
        }
    }

    /** -device virtio-rng-pci[,addr=A]. */
    record VirtioRngPci(String id, Optional<PciAddress> addr) implements Pci {
        @Override
        public String driver() {
            return "virtio-rng-pci";
        }
    }
}
