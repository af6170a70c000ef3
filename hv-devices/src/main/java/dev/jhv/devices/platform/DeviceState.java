package dev.jhv.devices.platform;

import dev.jhv.core.vmstate.VMStateDescription;
import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateOutput;

import java.util.Objects;

/**
 * One device's state section: its description (whose name is the section name), the instance id QEMU would give
 * it (0 for the only one of a kind), and the device. The methods bind description and device together, so a
 * caller holding {@code DeviceState<?>} can save and load without casts.
 */
public record DeviceState<T>(VMStateDescription<T> description, int instanceId, T device) {
    public DeviceState {
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(device, "device");
        if (instanceId < 0) {
            throw new IllegalArgumentException("instance id " + instanceId);
        }
    }

    /** The section name (the description's name). */
    public String name() {
        return description.name();
    }

    /** Writes the device's state at the description's version. */
    public void save(VMStateOutput out) {
        description.save(device, out);
    }

    /** Loads a state written at {@code streamVersion}; all or nothing (see {@link VMStateDescription#load}). */
    public void load(VMStateInput in, int streamVersion) {
        description.load(device, in, streamVersion);
    }
}
