package dev.jhv.core.machine;

import dev.jhv.core.vmstate.VMStateDescription;

/**
 * One piece of machine state that save/restore and migration carry: a device instance and its description.
 * {@code idstr} and {@code instanceId} name the section in a stream (QEMU's SaveStateEntry naming).
 */
public record StateSection<T>(String idstr, int instanceId, VMStateDescription<T> description, T state) { }
