package dev.jhv.devices.board;

import dev.jhv.core.block.Drive;
import dev.jhv.core.bus.IoBus;
import dev.jhv.core.machine.Machine;
import dev.jhv.devices.fwcfg.BootDevicePath;
import dev.jhv.devices.ide.AtaDisk;
import dev.jhv.devices.ide.AtapiCdrom;
import dev.jhv.devices.ide.BusMasterDma;
import dev.jhv.devices.ide.IdeChannel;
import dev.jhv.devices.ide.IdeDrive;

import java.util.ArrayList;
import java.util.List;

/**
 * The PC's two IDE channels as QEMU's pc has them: the primary at 0x1F0/0x3F6 on IRQ 14, the secondary at
 * 0x170/0x376 on IRQ 15 (PIIX3 IDE in compatibility mode), each with the drives -drive if=ide put at index
 * 2 * bus + unit, and the bus-master DMA block the PIIX3 IDE function's BAR4 shows.
 */
final class PcIde {
    /** One IDE drive of the command line: where it is and what it is. */
    record Placed(int index, DriveSpec.Media media) {
        String bootPath() {
            return BootDevicePath.ide(index / 2, index % 2);
        }
    }

    private final IdeChannel[] channels;
    private final BusMasterDma busMaster;
    private final List<Placed> placed;

    private PcIde(IdeChannel[] channels, BusMasterDma busMaster, List<Placed> placed) {
        this.channels = channels;
        this.busMaster = busMaster;
        this.placed = List.copyOf(placed);
    }

    /** @param drives the opened drives of {@code specs}, in their order (null: a CD-ROM drive with no medium) */
    static PcIde create(Machine m, List<DriveSpec> specs, List<Drive> drives) {
        IdeDrive[] units = new IdeDrive[4];
        var placed = new ArrayList<Placed>();
        for (int i = 0; i < specs.size(); i++) {
            DriveSpec s = specs.get(i);
            if (s.iface() != DriveSpec.Interface.IDE) {
                continue;
            }
            Drive d = i < drives.size() ? drives.get(i) : null;
            units[s.index()] = s.media() == DriveSpec.Media.CDROM
                    ? new AtapiCdrom(d == null ? null : d.device())
                    : new AtaDisk(d.device());
            placed.add(new Placed(s.index(), s.media()));
        }
        placed.sort(java.util.Comparator.comparingInt(Placed::index));
        IoBus io = m.ioBus();
        var primary = new IdeChannel(0, m.irqLine(IdeChannel.PRIMARY_IRQ), units[0], units[1]);
        var secondary = new IdeChannel(1, m.irqLine(IdeChannel.SECONDARY_IRQ), units[2], units[3]);
        io.register(IdeChannel.PRIMARY_COMMAND_BASE, IdeChannel.COMMAND_BLOCK_LENGTH, "ide0", primary.commandBlock());
        io.register(IdeChannel.PRIMARY_CONTROL_BASE, IdeChannel.CONTROL_BLOCK_LENGTH, "ide0-ctl",
                primary.controlBlock());
        io.register(IdeChannel.SECONDARY_COMMAND_BASE, IdeChannel.COMMAND_BLOCK_LENGTH, "ide1",
                secondary.commandBlock());
        io.register(IdeChannel.SECONDARY_CONTROL_BASE, IdeChannel.CONTROL_BLOCK_LENGTH, "ide1-ctl",
                secondary.controlBlock());
        var busMaster = new BusMasterDma(m.memory(), primary, secondary);
        m.addDevice(primary);
        m.addDevice(secondary);
        m.addDevice(busMaster);
        return new PcIde(new IdeChannel[] {primary, secondary}, busMaster, placed);
    }

    BusMasterDma busMaster() {
        return busMaster;
    }

    List<IdeChannel> channels() {
        return List.of(channels);
    }

    /**
     * The firmware's boot order for -boot order=…: per letter, the drives of that kind in index order (c: disks,
     * d: CD-ROMs); with strict=on nothing else is tried (SeaBIOS's HALT).
     */
    List<String> bootOrder(BoardConfig.BootOrder boot) {
        var out = new ArrayList<String>();
        for (char c : boot.order().toCharArray()) {
            DriveSpec.Media kind = switch (c) {
                case 'c' -> DriveSpec.Media.DISK;
                case 'd' -> DriveSpec.Media.CDROM;
                default -> null; // a (floppy) and n (network): no such device on this board
            };
            for (Placed p : placed) {
                if (p.media() == kind) {
                    out.add(p.bootPath());
                }
            }
        }
        if (boot.strict()) {
            out.add("HALT");
        }
        return out;
    }
}
