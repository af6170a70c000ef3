package dev.jhv.devices.board;

import dev.jhv.core.block.Drive;
import dev.jhv.core.machine.Machine;
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
     * opened drives by their {@code -drive id=} (drives without an id or a medium are not in it).
     */
    record Resources(Machine machine, Map<String, Drive> drives) {
        public Resources {
            drives = Map.copyOf(drives);
        }

        public Optional<Drive> drive(String id) {
            return Optional.ofNullable(drives.get(id));
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
