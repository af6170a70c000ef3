package dev.jhv.virtio;

import dev.jhv.core.machine.Machine;
import dev.jhv.devices.board.DeviceSpec;
import dev.jhv.devices.board.PciDeviceProvider;
import dev.jhv.devices.pci.MsixIrqRoutes;
import dev.jhv.devices.pci.PciFunction;
import dev.jhv.virtio.device.VirtioDevice;
import dev.jhv.virtio.pci.Doorbells;
import dev.jhv.virtio.pci.VirtioPciFunction;
import dev.jhv.core.block.Drive;
import dev.jhv.virtio.blk.VirtioBlk;
import dev.jhv.virtio.net.MacAddress;
import dev.jhv.virtio.net.MacAllocator;
import dev.jhv.virtio.net.VirtioNet;
import dev.jhv.virtio.rng.VirtioRng;
import dev.jhv.core.net.NetBackend;
import dev.jhv.devices.board.BoardException;

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
    /** The board's NIC addresses: QEMU's 52:54:00:12:34:56 onwards for NICs without mac=. */
    private final MacAllocator macs = new MacAllocator();

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
    private Optional<VirtioDevice<?>> device(DeviceSpec.Pci spec, Resources resources) {
        return switch (spec) {
            case DeviceSpec.VirtioRngPci rng -> Optional.of(new VirtioRng());
            case DeviceSpec.VirtioNetPci net -> Optional.of(virtioNet(net, resources));
            case DeviceSpec.VirtioBlkPci blk -> Optional.of(virtioBlk(blk, resources));
            default -> Optional.empty();
        };
    }

    /** QEMU 7.2's num-queues default for virtio-blk-pci: one queue per vCPU. */
    private static VirtioBlk virtioBlk(DeviceSpec.VirtioBlkPci spec, Resources resources) {
        Drive drive = resources.drive(spec.drive()).orElseThrow(() -> new BoardException(
                "-device virtio-blk-pci: Property 'virtio-blk-device.drive' can't find value '" + spec.drive() + "'"));
        int queues = spec.numQueues() > 0 ? spec.numQueues() : resources.machine().vcpus().size();
        return new VirtioBlk(drive, spec.serial(), queues, resources.driveCache(spec.drive()));
    }

    private VirtioNet virtioNet(DeviceSpec.VirtioNetPci spec, Resources resources) {
        NetBackend backend = resources.netdev(spec.netdev()).orElseThrow(() -> new BoardException(
                "Property 'virtio-net-pci.netdev' can't find value '" + spec.netdev() + "'"));
        MacAddress mac;
        if (spec.mac() != null) {
            try {
                mac = MacAddress.parse(spec.mac());
            } catch (IllegalArgumentException e) {
                throw new BoardException("-device virtio-net-pci: " + e.getMessage());
            }
            macs.claim(mac);
        } else {
            mac = macs.next();
        }
        return new VirtioNet(backend, mac);
    }

    private static <S extends Record> VirtioPciFunction<S> transport(VirtioDevice<S> d, int instance, Machine m) {
        return new VirtioPciFunction<>(d, instance, m.memory(), Doorbells.of(m.vm()),
                new MsixIrqRoutes(m.vm(), m.gsiRouter(), d.queueCount() + 1));
    }
}
