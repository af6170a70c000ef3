package dev.jhv.launcher;

import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.machine.MachineConfig;

/** The machine ./jhv runs. Placeholder until hv-core's Machine is plugged in here. */
final class DefaultMachineFactory implements MachineFactory {
    @Override
    public MachineHandle create(MachineConfig config, CharBackend com1) {
        throw new LauncherException("this build of jhv has no machine yet");
    }
}
