package dev.jhv.launcher.command;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Operations by QMP name; open to later features (migration, snapshots), which add theirs with {@link #register}. */
public final class OperationTable {
    private final Map<String, Operation<?>> byName = new LinkedHashMap<>();

    /** Adds an operation; a name already taken is a programming error. */
    public synchronized OperationTable register(Operation<?> op) {
        if (byName.putIfAbsent(op.name(), op) != null) {
            throw new IllegalArgumentException("operation '" + op.name() + "' is already registered");
        }
        return this;
    }

    /** The operation named {@code name}, or null. */
    public synchronized Operation<?> find(String name) {
        return byName.get(name);
    }

    /** Every operation, in the order they were registered. */
    public synchronized List<Operation<?>> all() {
        return new ArrayList<>(byName.values());
    }
}
