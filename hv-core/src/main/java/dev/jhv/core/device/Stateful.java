package dev.jhv.core.device;

import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.core.vmstate.RecordDraft;

/**
 * A device whose guest-visible state is one record, saved and loaded through its description (a migration or
 * snapshot section named by the description and {@link #instanceId}). Both calls run with the machine paused.
 */
public interface Stateful<S extends Record> extends Device {
    RecordDescription<S> vmstate();

    /** The state now, as one consistent record. */
    S state();

    /**
     * Puts the whole state in, or nothing: a state the device cannot hold (an index out of range, a register
     * value no hardware has) is refused with IllegalArgumentException naming it, and the device keeps its own.
     */
    void restore(S state);

    /** A draft bound to this device: what the VMState engine saves from and loads into (a stream section). */
    default RecordDraft<S> stateDraft() {
        return vmstate().bind(this::state, this::restore);
    }

    /** The state as its section's bytes (tests and tools; the machine saves through its sections). */
    default byte[] saveState() {
        return vmstate().description().save(stateDraft());
    }

    /** Loads section bytes written at {@code streamVersion}: whole or not at all (VMStateException says why). */
    default void loadState(byte[] data, int streamVersion) {
        vmstate().description().load(stateDraft(), data, streamVersion);
    }

    /** Which instance of its kind (QEMU's instance_id: the vCPU index, the second serial port's 1). */
    default int instanceId() {
        return 0;
    }
}
