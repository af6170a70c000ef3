package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateDescription;

import java.util.ArrayList;
import java.util.List;

/**
 * The machine's list of state to save, in registration order (iterative entries are written first, like QEMU's
 * RAM). Devices and the machine register here when they are built.
 */
public final class SaveStateRegistry {
    private final List<SaveStateEntry> entries = new ArrayList<>();

    /** Adds an entry; its idstr/instance pair must be new. */
    public synchronized <E extends SaveStateEntry> E register(E entry) {
        if (find(entry.idstr(), entry.instanceId()) != null) {
            throw new IllegalArgumentException("state '" + entry.idstr() + "' instance " + entry.instanceId()
                    + " is registered twice");
        }
        entries.add(entry);
        return entry;
    }

    /** Registers a device under its description's name with the next free instance id. */
    public synchronized <T> DeviceStateEntry<T> registerDevice(VMStateDescription<T> description, T state) {
        return registerDevice(description.name(), nextInstance(description.name()), description, state);
    }

    public synchronized <T> DeviceStateEntry<T> registerDevice(String idstr, int instanceId,
                                                                VMStateDescription<T> description, T state) {
        return register(new DeviceStateEntry<>(idstr, instanceId, description, state));
    }

    public synchronized void unregister(SaveStateEntry entry) {
        entries.remove(entry);
    }

    /** The next unused instance id of that name. */
    public synchronized int nextInstance(String idstr) {
        int n = 0;
        for (SaveStateEntry e : entries) {
            if (e.idstr().equals(idstr)) {
                n = Math.max(n, e.instanceId() + 1);
            }
        }
        return n;
    }

    public synchronized SaveStateEntry find(String idstr, int instanceId) {
        for (SaveStateEntry e : entries) {
            if (e.idstr().equals(idstr) && e.instanceId() == instanceId) {
                return e;
            }
        }
        return null;
    }

    /** Iterative entries first, then devices, each in registration order. */
    public synchronized List<SaveStateEntry> entries() {
        var out = new ArrayList<SaveStateEntry>();
        for (SaveStateEntry e : entries) {
            if (e instanceof IterativeStateEntry) {
                out.add(e);
            }
        }
        for (SaveStateEntry e : entries) {
            if (e instanceof DeviceStateEntry<?>) {
                out.add(e);
            }
        }
        return out;
    }
}
