package dev.jhv.devices.board;

import dev.jhv.core.block.Drive;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.net.NetBackend;
import dev.jhv.devices.pci.PciFunction;

import java.util.Map;
import java.util.Optional;

/**
 * Builds the PCI functions of {@code -device} that live outside hv-devices (the virtio family in hv-virtio, which
 * hv-devices cannot depend on). The launcher hands one to {@link PcBoard#create}; the board places what it builds
 * at the spec's {@code addr=} (or the first free slot) and drives it with the machine's devices.
 */
@FunctionalInterface
public interface PciDeviceProvider {
    /**
     * What the board has for the functions it builds: the machine (guest memory, the VM, the GSI router) and the
     * opened drives by their {@code -drive id=} (drives without an id or a medium are not in it), and the opened
     * network backends by their {@code -netdev id=}.
     */
    record Resources(Machine machine, Map<String, Drive> drives, Map<String, DriveSpec> driveSpecs,
                     Map<String, NetBackend> netdevs) {
        public Resources {
            drives = Map.copyOf(drives);
            driveSpecs = Map.copyOf(driveSpecs);
            netdevs = Map.copyOf(netdevs);
        }

        public Resources(Machine machine, Map<String, Drive> drives) {
            this(machine, drives, Map.of(), Map.of());
        }

        /** The drive's cache= (writeback when the command line did not say). */
        public DriveSpec.Cache driveCache(String id) {
            DriveSpec d = driveSpecs.get(id);
            return d == null || d.cache() == null ? DriveSpec.Cache.WRITEBACK : d.cache();
        }

        public Optional<Drive> drive(String id) {
            return Optional.ofNullable(drives.get(id));
        }

        public Optional<NetBackend> netdev(String id) {
            return Optional.ofNullable(netdevs.get(id));
        }
    }

    /**
     * A new function for {@code spec}, or empty when this provider does not build that kind (the board then refuses
     * the {@code -device}). A spec it builds but cannot satisfy (no such drive) throws BoardException naming it.
     */
    Optional<PciFunction> build(DeviceSpec.Pci spec, Resources resources);

    /** Builds nothing: every {@code -device} of the PCI family is refused. */
    PciDeviceProvider NONE = (spec, resources) -> Optional.empty();
}
