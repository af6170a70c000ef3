package dev.jhv.virtio;

import dev.jhv.core.machine.Machine;
import dev.jhv.devices.board.DeviceSpec;
import dev.jhv.devices.board.PciDeviceProvider;
import dev.jhv.devices.pci.MsixIrqRoutes;
import dev.jhv.devices.pci.PciFunction;
import dev.jhv.virtio.device.VirtioDevice;
import dev.jhv.virtio.pci.Doorbells;
import dev.jhv.virtio.pci.VirtioPciFunction;
import dev.jhv.virtio.rng.VirtioRng;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The board's provider for the virtio-pci family: each {@code -device virtio-*-pci} becomes its virtio device on
 * the virtio-pci transport, with the machine's ioeventfds and MSI-X routes. A new device is one case in
 * {@link #device} and its class.
 */
public final class VirtioDevices implements PciDeviceProvider {
    /** How many devices of each kind were built (for their I/O threads' names: virtio-blk-0-io, virtio-blk-1-io). */
    private final Map<String, Integer> instances = new HashMap<>();

    @Override
    public synchronized Optional<PciFunction> build(DeviceSpec.Pci spec, Resources resources) {
        Optional<VirtioDevice<?>> device = device(spec, resources);
        if (device.isEmpty()) {
            return Optional.empty();
        }
        VirtioDevice<?> d = device.get();
        int instance = instances.merge(d.name(), 1, Integer::sum) - 1;
        return Optional.of(transport(d, instance, resources.machine()));
    }

    /** The device a spec names, or empty for a kind this provider does not build (yet). */
    private static Optional<VirtioDevice<?>> device(DeviceSpec.Pci spec, Resources resources) {
        return switch (spec) {
            case DeviceSpec.VirtioRngPci rng -> Optional.of(new VirtioRng());
            default -> Optional.empty();
        };
    }

    private static <S extends Record> VirtioPciFunction<S> transport(VirtioDevice<S> d, int instance, Machine m) {
        return new VirtioPciFunction<>(d, instance, m.memory(), Doorbells.of(m.vm()),
                new MsixIrqRoutes(m.vm(), m.gsiRouter(), d.queueCount() + 1));
    }
}
