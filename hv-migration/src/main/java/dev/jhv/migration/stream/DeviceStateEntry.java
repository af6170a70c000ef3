package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateDescription;
import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateValues;

/** A device's state: saved whole in one FULL section through its description. */
public record DeviceStateEntry<T>(String idstr, int instanceId, VMStateDescription<T> description, T state)
        implements SaveStateEntry {

    public DeviceStateEntry {
        if (idstr == null || idstr.isEmpty() || idstr.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 255) {
            throw new IllegalArgumentException("section name must be 1..255 bytes: '" + idstr + "'");
        }
        if (instanceId < 0) {
            throw new IllegalArgumentException("instance id must not be negative");
        }
    }

    @Override
    public int version() {
        return description.version();
    }

    /** The section body: the state at this description's version. */
    byte[] encode() {
        return description.save(state);
    }

    VMStateValues decode(VMStateInput in, int streamVersion) {
        return description.decode(in, streamVersion);
    }

    VMStateValues capture() {
        return description.capture(state);
    }

    void apply(VMStateValues values) {
        description.apply(state, values);
    }

    void restore(VMStateValues snapshot) {
        description.restore(state, snapshot);
    }
}
