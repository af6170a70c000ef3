package dev.jhv.core.machine;

import dev.jhv.core.device.Stateful;
import dev.jhv.core.vmstate.RecordDraft;
import dev.jhv.core.vmstate.VMStateDescription;

/**
 * One piece of machine state that save/restore and migration carry: a device instance and its description.
 * {@code idstr} and {@code instanceId} name the section in a stream (QEMU's SaveStateEntry naming).
 */
public record StateSection<T>(String idstr, int instanceId, VMStateDescription<T> description, T state) {
    /** A stateful device's section: a save reads its record, a load hands it a new one. */
    public static <S extends Record> StateSection<RecordDraft<S>> of(Stateful<S> device) {
        var d = device.vmstate();
        return new StateSection<>(d.name(), device.instanceId(), d.description(), device.stateDraft());
    }
}
