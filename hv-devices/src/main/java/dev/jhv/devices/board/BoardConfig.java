package dev.jhv.devices.board;

import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.net.NetdevConfig;
import dev.jhv.devices.fwcfg.FwCfgUserItem;

import java.nio.file.Path;
import java.util.List;

/**
 * What the command line says about the PC: the machine (RAM, CPUs, kernel, run flags) plus the board's own parts.
 *
 * @param bios     -bios FILE, or null for SeaBIOS from Debian's package
 * @param boot     -boot order=…,menu=…,strict=…
 * @param fwCfg    -fw_cfg name=…,string=…|file=… items, in command-line order
 * @param netdevs  -netdev (and what -nic implies) in command-line order; the launcher opens their backends
 */
public record BoardConfig(MachineConfig machine, List<DriveSpec> drives, List<DeviceSpec> devices, Path bios,
                          BootOrder boot, List<FwCfgUserItem> fwCfg, List<NetdevConfig> netdevs) {

    public static final Path DEFAULT_BIOS = Path.of("/usr/share/seabios/bios-256k.bin");

    /** -boot: drive letters in order (a floppy, c disk, d CD-ROM, n network), menu and strict. */
    public record BootOrder(String order, boolean menu, boolean strict) {
        public static final BootOrder DEFAULT = new BootOrder("cad", false, false);
    }

    public BoardConfig {
        drives = List.copyOf(drives);
        devices = List.copyOf(devices);
        fwCfg = List.copyOf(fwCfg);
        netdevs = List.copyOf(netdevs);
    }

    /** A board with no network backends. */
    public BoardConfig(MachineConfig machine, List<DriveSpec> drives, List<DeviceSpec> devices, Path bios,
                       BootOrder boot, List<FwCfgUserItem> fwCfg) {
        this(machine, drives, devices, bios, boot, fwCfg, List.of());
    }

    /** A machine with no drives and devices (tests, tools). */
    public static BoardConfig of(MachineConfig machine) {
        return new BoardConfig(machine, List.of(), List.of(), null, BootOrder.DEFAULT, List.of());
    }

    public BoardConfig withMachine(MachineConfig m) {
        return new BoardConfig(m, drives, devices, bios, boot, fwCfg, netdevs);
    }

    public List<DeviceSpec.IsaDebugExit> debugExits() {
        return devices.stream().filter(d -> d instanceof DeviceSpec.IsaDebugExit)
                .map(d -> (DeviceSpec.IsaDebugExit) d).toList();
    }

    /** With -kernel the board loads the kernel itself; otherwise the firmware boots a drive. */
    public boolean firmwareBoot() {
        return machine.kernel() == null;
    }
}
