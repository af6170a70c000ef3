package dev.jhv.devices.board;

import dev.jhv.core.block.Drive;
import dev.jhv.core.machine.MachineConfig;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The same round trips over the board that boots SeaBIOS: fw_cfg, the shadow RAM's chipset, and an IDE CD-ROM
 * drive with no medium join the devices.
 */
class FirmwarePcBoardStateTest extends PcBoardStateTest {
    @Override
    BoardConfig boardConfig() {
        assumeTrue(Files.exists(BoardConfig.DEFAULT_BIOS), "SeaBIOS missing: scripts/install-deps installs it");
        MachineConfig c = config();
        MachineConfig firmware = new MachineConfig(c.name(), c.memoryBytes(), c.smp(), c.cpuModel(), null, null,
                null, true, false, false);
        return new BoardConfig(firmware, List.of(DriveSpec.ideCdrom(null, "-cdrom")), List.of(), null,
                BoardConfig.BootOrder.DEFAULT, List.of());
    }

    @Override
    List<Drive> drives() {
        var none = new ArrayList<Drive>();
        none.add(null);
        return none;
    }
}
