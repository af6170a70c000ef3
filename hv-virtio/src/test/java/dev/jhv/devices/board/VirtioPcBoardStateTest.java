package dev.jhv.devices.board;

import dev.jhv.devices.pci.PciBar;
import dev.jhv.devices.pci.PciFunction;
import dev.jhv.virtio.VirtioDevices;
import dev.jhv.virtio.pci.VirtioPciFunction;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The board's round trip of every stateful device (see {@link PcBoardStateTest}) with the virtio devices plugged in
 * through {@link VirtioDevices}: their sections (PCI config, transport, MSI-X, the device's record) round-trip too.
 * Direct boot, so this also checks that the firmware-less PCI set-up gives their BARs addresses.
 */
class VirtioPcBoardStateTest extends PcBoardStateTest {
    @Override
    BoardConfig boardConfig() {
        return new BoardConfig(config(), List.of(), List.of(new DeviceSpec.VirtioRngPci(null, Optional.empty())),
                null, BoardConfig.BootOrder.DEFAULT, List.of());
    }

    @Override
    PciDeviceProvider provider() {
        return new VirtioDevices();
    }

    @Test
    void theRngIsOnTheBusWithItsBarsPlacedWithoutFirmware() {
        var rng = boardUnderTest().machine().devices().stream()
                .filter(d -> d instanceof VirtioPciFunction<?>).map(d -> (PciFunction) d).toList();
        assertThat(rng).hasSize(1);
        PciFunction f = rng.getFirst();
        assertThat(f.address().slot()).as("the first free slot").isEqualTo(2);
        assertThat(f.bars()).hasSize(3).allSatisfy(b -> assertThat(b.mappedAddress())
                .as("BAR%d placed", b.index()).isPositive());
        assertThat(f.bars().stream().filter(b -> b.kind() == PciBar.Kind.MEMORY64).findFirst().orElseThrow()
                .mappedAddress()).as("64-bit BAR from 4 GiB up, as direct boot places them").isGreaterThanOrEqualTo(1L << 32);
        assertThat(((VirtioPciFunction<?>) f).ioThreadName()).isEqualTo("virtio-rng-0-io");
    }
}
