package dev.jhv.launcher;

import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.machine.MachineException;
import dev.jhv.launcher.board.PcMachine;

/** The machine ./jhv runs: the PC board on KVM. */
final class DefaultMachineFactory implements MachineFactory {
    @Override
    public MachineHandle create(MachineConfig config, CharBackend com1) {
        try {
            return PcMachine.create(config, com1);
        } catch (MachineException e) {
            throw new LauncherException(e.getMessage());
        }
    }
}
