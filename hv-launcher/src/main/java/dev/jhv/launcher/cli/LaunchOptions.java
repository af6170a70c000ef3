package dev.jhv.launcher.cli;

import dev.jhv.core.machine.MachineConfig;
import dev.jhv.devices.board.BoardConfig;
import java.util.List;

/**
 * A parsed command line: the machine to build plus what only the launcher cares about.
 *
 * @param board      the PC to build: the machine (memory, CPUs, kernel) with its drives, devices and firmware
 * @param serial     COM1's back end after QEMU's defaults: {@link ChardevSpec.None} for no COM1,
 *                   {@link ChardevSpec.Mon} when COM1 shares its device with a monitor (-nographic, mon:stdio)
 * @param monitors   HMP monitors on their own devices (not counting the one inside a {@code Mon} serial)
 * @param qmpMonitors QMP monitors (-qmp, -mon mode=control), each on its own device
 * @param nographic  -nographic was in effect (given, or implied by --demo)
 * @param displayNone -display none was given
 * @param demo       --demo was given
 */
public record LaunchOptions(
        BoardConfig board,
        ChardevSpec serial,
        List<ChardevSpec> monitors,
        List<ChardevSpec> qmpMonitors,
        boolean nographic,
        boolean displayNone,
        boolean demo) {

    public LaunchOptions {
        monitors = List.copyOf(monitors);
        qmpMonitors = List.copyOf(qmpMonitors);
    }

    /** The machine part of the board's configuration. */
    public MachineConfig machine() {
        return board.machine();
    }

    /** Whether a monitor (HMP or QMP) holds start-up until its first client connects. */
    public boolean monitorWaitsForClient() {
        return monitors.stream().anyMatch(ChardevSpec::waitsForClient)
                || qmpMonitors.stream().anyMatch(ChardevSpec::waitsForClient);
    }

    public boolean serialHasMonitor() {
        return serial instanceof ChardevSpec.Mon;
    }
}
