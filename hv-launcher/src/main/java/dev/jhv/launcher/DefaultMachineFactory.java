package dev.jhv.launcher;

import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.machine.Machine;
import dev.jhv.devices.board.BoardConfig;
import dev.jhv.core.machine.MachineException;
import dev.jhv.core.vcpu.Vcpu;
import dev.jhv.launcher.board.PcMachine;

/** The machine ./jhv runs: the PC board on KVM. */
final class DefaultMachineFactory implements MachineFactory {
    private static final System.Logger LOG = System.getLogger(DefaultMachineFactory.class.getName());
    /** The VM opened by {@link #prepare}, or null (not prepared, or it failed: create then reports why). */
    private volatile Machine.KvmBase prepared;

    @Override
    public void prepare() {
        // the kick signal's handler on a third thread: binding sigaction would otherwise lengthen this one
        Thread.ofPlatform().name("signal-prepare").daemon().start(() -> {
            try {
                Vcpu.prepareSignals();
            } catch (RuntimeException | LinkageError e) {
                LOG.log(System.Logger.Level.DEBUG, "kick signal set-up failed; starting a vCPU will report it", e);
            }
        });
        try {
            prepared = Machine.KvmBase.open();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "opening KVM ahead failed; create() will report it", e);
        }
    }

    @Override
    public MachineHandle create(BoardConfig config, CharBackend com1) {
        Machine.KvmBase base = prepared;
        prepared = null;
        try {
            return PcMachine.create(config, com1, base);
        } catch (MachineException e) {
            throw new LauncherException(e.getMessage());
        }
    }
}
