package dev.jhv.core.vmstate;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A device's state record while the VMState engine reads or fills it, one value per record component (records
 * cannot be filled field by field). Arrays are copied in and out, so a draft never shares storage with a record.
 * A draft bound to a device pulls the device's record before a save and hands the loaded record to the device
 * after a load (see {@link RecordDescription}); an unbound draft is a plain holder.
 */
public final class RecordDraft<S extends Record> implements VMStateDescription.Live {
    private final RecordDescription<S> description;
    private final Supplier<S> read;
    private final Consumer<S> write;
    final Object[] values;

    RecordDraft(RecordDescription<S> description, Supplier<S> read, Consumer<S> write) {
        this.description = description;
        this.read = read;
        this.write = write;
        this.values = new Object[description.type().components.length];
    }

    /** Takes every component of {@code state} (arrays copied; nested described records as drafts). */
    public void pull(S state) {
        RecordType<S> type = description.type();
        for (int i = 0; i < values.length; i++) {
            Object v = type.get(state, i);
            RecordDescription<?> nested = description.nested(i);
            values[i] = nested != null ? nested.draftOfAny((Record) v) : copy(v);
        }
    }

    /** The record these values make (arrays copied), through its canonical constructor and its checks. */
    public S build() {
        RecordType<S> type = description.type();
        Object[] args = new Object[values.length];
        for (int i = 0; i < values.length; i++) {
            args[i] = values[i] instanceof RecordDraft<?> d ? d.build() : copy(values[i]);
        }
        return type.construct(args);
    }

    @Override
    public void refresh() {
        if (bound()) {
            pullFromDevice();
        }
    }

    @Override
    public void writeBack() {
        if (bound()) {
            pushToDevice(build());
        }
    }

    boolean bound() {
        return read != null;
    }

    void pullFromDevice() {
        pull(read.get());
    }

    void pushToDevice(S state) {
        write.accept(state);
    }

    private static Object copy(Object v) {
        return switch (v) {
            case byte[] b -> b.clone();
            case int[] a -> a.clone();
            case long[] a -> a.clone();
            case null, default -> v;
        };
    }

    @Override
    public String toString() {
        return "RecordDraft[" + description.name() + " " + Arrays.deepToString(values) + "]";
    }

    /** A record class's components and canonical constructor, found once. */
    static final class RecordType<S extends Record> {
        final Class<S> type;
        final RecordComponent[] components;
        private final Method[] accessors;
        private final Constructor<S> constructor;

        RecordType(Class<S> type) {
            this.type = type;
            this.components = type.getRecordComponents();
            if (components == null) {
                throw new IllegalArgumentException(type.getName() + " is not a record");
            }
            this.accessors = new Method[components.length];
            Class<?>[] types = new Class<?>[components.length];
            for (int i = 0; i < components.length; i++) {
                accessors[i] = components[i].getAccessor();
                accessors[i].setAccessible(true);
                types[i] = components[i].getType();
            }
            try {
                constructor = type.getDeclaredConstructor(types);
                constructor.setAccessible(true);
            } catch (NoSuchMethodException e) {
                throw new IllegalArgumentException(type.getName() + " has no canonical constructor", e);
            }
        }

        /** The index of the component named {@code name}, or an error that lists what there is. */
        int index(String name, String field) {
            for (int i = 0; i < components.length; i++) {
                if (components[i].getName().equals(name)) {
                    return i;
                }
            }
            throw new IllegalArgumentException("field '" + field + "': " + type.getSimpleName()
                    + " has no component '" + name + "' (it has " + Arrays.stream(components)
                    .map(RecordComponent::getName).toList() + ")");
        }

        Object get(S state, int i) {
            try {
                return accessors[i].invoke(state);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            } catch (InvocationTargetException e) {
                throw rethrow(e);
            }
        }

        S construct(Object[] args) {
            try {
                return constructor.newInstance(args);
            } catch (InstantiationException | IllegalAccessException e) {
                throw new IllegalStateException(e);
            } catch (InvocationTargetException e) {
                throw rethrow(e);
            }
        }

        private static RuntimeException rethrow(InvocationTargetException e) {
            return e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }

        /** QEMU's field names are snake_case, record components camelCase: "recv_fifo_len" is recvFifoLen. */
        static String componentName(String field) {
            StringBuilder b = new StringBuilder();
            boolean upper = false;
            for (char c : field.toCharArray()) {
                if (c == '_' || c == '-') {
                    upper = b.length() > 0;
                } else {
                    b.append(upper ? Character.toUpperCase(c) : c);
                    upper = false;
                }
            }
            return b.toString();
        }
    }
}
