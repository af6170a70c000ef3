package dev.jhv.core.vmstate;

import dev.jhv.core.vmstate.RecordDraft.RecordType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Array;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;
import java.util.function.ObjIntConsumer;

/**
 * The VMState description of a state record: each stream field is a record component (QEMU's snake_case field
 * name read as the camelCase component, or named explicitly). Saving reads the record; loading builds a new one
 * through its canonical constructor, so a device gets its whole state at once or not at all.
 *
 * <pre>{@code
 * record UartState(int divider, int lcr, byte[] recvFifo) { }
 * static final RecordDescription<UartState> VMSTATE = RecordDescription.builder(UartState.class, "serial", 1)
 *         .u16("divider").u8("lcr")
 *         .subsection(RECV_FIFO, s -> s.recvFifo().length > 0)
 *         .defaults(UartState.POWER_ON)
 *         .build();
 * }</pre>
 *
 * <p>A load into a device starts from {@link Builder#defaults} (what a subsection or a newer field absent from
 * the stream means), or from the device's current state when there are none, as QEMU's fields keep their value.
 */
public final class RecordDescription<S extends Record> {
    private final RecordType<S> type;
    private final Map<Integer, RecordDescription<?>> nested;
    private VMStateDescription<RecordDraft<S>> description;

    private RecordDescription(RecordType<S> type, Map<Integer, RecordDescription<?>> nested) {
        this.type = type;
        this.nested = Map.copyOf(nested);
    }

    public static <S extends Record> Builder<S> builder(Class<S> type, String name, int version) {
        return new Builder<>(new RecordType<>(type), name, version, true);
    }

    /** A subsection or nested structure of the same record: no hooks of its own. */
    public static <S extends Record> Builder<S> part(Class<S> type, String name, int version) {
        return new Builder<>(new RecordType<>(type), name, version, false);
    }

    /** The description the VMState engine runs, over drafts of this record. */
    public VMStateDescription<RecordDraft<S>> description() {
        return description;
    }

    public String name() {
        return description.name();
    }

    public int version() {
        return description.version();
    }

    /**
     * A draft bound to a device: a save reads {@code read}, a load hands the new record to {@code write}, which
     * accepts it whole or throws (IllegalArgumentException naming what is wrong) and keeps what it had.
     */
    public RecordDraft<S> bind(Supplier<S> read, Consumer<S> write) {
        return new RecordDraft<>(this, read, write);
    }

    /** An unbound draft holding {@code state}. */
    public RecordDraft<S> draftOf(S state) {
        var d = new RecordDraft<>(this, null, null);
        d.pull(state);
        return d;
    }

    @SuppressWarnings("unchecked")
    RecordDraft<S> draftOfAny(Record state) {
        return draftOf((S) state);
    }

    public byte[] save(S state) {
        return description.save(draftOf(state));
    }

    /** Loads a record written at {@code streamVersion}; fields absent from the stream are {@code start}'s. */
    public S load(byte[] data, int streamVersion, S start) {
        RecordDraft<S> d = draftOf(start);
        description.load(d, data, streamVersion);
        return d.build();
    }

    RecordType<S> type() {
        return type;
    }

    RecordDescription<?> nested(int component) {
        return nested.get(component);
    }

    @Override
    public String toString() {
        return "RecordDescription[" + name() + " of " + type.type.getSimpleName() + "]";
    }

    /**
     * Declares the fields in stream order. Without a component name a field is bound to the component its
     * snake_case name reads as; the component's type must fit the field (int for 8..32-bit scalars, long for
     * 64-bit, boolean, byte[], int[], long[], a record for a structure).
     */
    public static final class Builder<S extends Record> {
        private final RecordType<S> type;
        private final VMStateDescription.Builder<RecordDraft<S>> b;
        private final boolean top;
        private final Map<Integer, RecordDescription<?>> nested = new HashMap<>();
        private final String name;
        private S defaults;
        private Function<S, String> check;

        private Builder(RecordType<S> type, String name, int version, boolean top) {
            this.type = type;
            this.name = name;
            this.b = VMStateDescription.builder(name, version);
            this.top = top;
        }

        private int component(String field, String component, Class<?> want) {
            int i = type.index(component, field);
            Class<?> have = type.components[i].getType();
            if (want != null && have != want) {
                throw new IllegalArgumentException("field '" + field + "' of '" + name + "': component '"
                        + component + "' is " + have.getSimpleName() + ", the field needs " + want.getSimpleName());
            }
            return i;
        }

        public Builder<S> minimumVersion(int v) {
            b.minimumVersion(v);
            return this;
        }

        /** The last field exists only from stream version {@code v} on. */
        public Builder<S> since(int v) {
            b.since(v);
            return this;
        }

        /** The last field is sent only when the test holds (a presence byte precedes it). */
        public Builder<S> when(Predicate<S> test) {
            b.when(d -> test.test(d.build()));
            return this;
        }

        private Builder<S> intField(ScalarType t, String field, String component) {
            int i = component(field, component, int.class);
            return intBinding(t, field, d -> (Integer) d.values[i], (d, v) -> d.values[i] = v);
        }

        private Builder<S> intBinding(ScalarType t, String field, ToIntFunction<RecordDraft<S>> get,
                                      ObjIntConsumer<RecordDraft<S>> set) {
            switch (t) {
                case U8 -> b.u8(field, get, set);
                case U16 -> b.u16(field, get, set);
                case U32 -> b.u32(field, get, set);
                case S8 -> b.s8(field, get, set);
                case S16 -> b.s16(field, get, set);
                case S32 -> b.s32(field, get, set);
                default -> throw new IllegalArgumentException("field '" + field + "': " + t + " is not an int");
            }
            return this;
        }

        public Builder<S> u8(String field) {
            return intField(ScalarType.U8, field, RecordType.componentName(field));
        }

        public Builder<S> u8(String field, String component) {
            return intField(ScalarType.U8, field, component);
        }

        public Builder<S> u16(String field) {
            return intField(ScalarType.U16, field, RecordType.componentName(field));
        }

        public Builder<S> u16(String field, String component) {
            return intField(ScalarType.U16, field, component);
        }

        /** An unsigned 32-bit field kept in an int component (raw bits). */
        public Builder<S> u32(String field) {
            return intField(ScalarType.U32, field, RecordType.componentName(field));
        }

        public Builder<S> u32(String field, String component) {
            return intField(ScalarType.U32, field, component);
        }

        public Builder<S> s32(String field) {
            return intField(ScalarType.S32, field, RecordType.componentName(field));
        }

        public Builder<S> s32(String field, String component) {
            return intField(ScalarType.S32, field, component);
        }

        private Builder<S> longField(boolean signed, String field, String component) {
            int i = component(field, component, long.class);
            if (signed) {
                b.s64(field, d -> (Long) d.values[i], (d, v) -> d.values[i] = v);
            } else {
                b.u64(field, d -> (Long) d.values[i], (d, v) -> d.values[i] = v);
            }
            return this;
        }

        public Builder<S> u64(String field) {
            return longField(false, field, RecordType.componentName(field));
        }

        public Builder<S> u64(String field, String component) {
            return longField(false, field, component);
        }

        public Builder<S> s64(String field) {
            return longField(true, field, RecordType.componentName(field));
        }

        public Builder<S> bool(String field) {
            return bool(field, RecordType.componentName(field));
        }

        public Builder<S> bool(String field, String component) {
            int i = component(field, component, boolean.class);
            b.bool(field, d -> (Boolean) d.values[i], (d, v) -> d.values[i] = v);
            return this;
        }

        /** A byte[] component of exactly {@code size} bytes. */
        public Builder<S> buffer(String field, int size) {
            return buffer(field, size, RecordType.componentName(field));
        }

        public Builder<S> buffer(String field, int size, String component) {
            int i = component(field, component, byte[].class);
            b.buffer(field, size, d -> (byte[]) d.values[i]);
            return this;
        }

        /** A byte[] component whose length is the earlier field {@code lengthField}, at most {@code max}. */
        public Builder<S> vbuffer(String field, String lengthField, int max, String component) {
            int i = component(field, component, byte[].class);
            b.vbuffer(field, lengthField, max, d -> (byte[]) d.values[i], (d, v) -> d.values[i] = v);
            return this;
        }

        public Builder<S> intArray(String field, ScalarType t, int length, String component) {
            int i = component(field, component, int[].class);
            b.intArray(field, t, length, d -> (int[]) d.values[i]);
            return this;
        }

        public Builder<S> intVarArray(String field, ScalarType t, String lengthField, int max, String component) {
            int i = component(field, component, int[].class);
            b.intVarArray(field, t, lengthField, max, d -> (int[]) d.values[i], (d, v) -> d.values[i] = v);
            return this;
        }

        public Builder<S> longVarArray(String field, ScalarType t, String lengthField, int max,
                                       String component) {
            int i = component(field, component, long[].class);
            b.longVarArray(field, t, lengthField, max, d -> (long[]) d.values[i], (d, v) -> d.values[i] = v);
            return this;
        }

        /**
         * An integer field that states the length of an array component (for the var-arrays after it): saved
         * as the array's length; on load the array's own length counts, so the value is only checked.
         */
        public Builder<S> lengthOf(String field, ScalarType t, String arrayComponent) {
            int i = component(field, arrayComponent, null);
            if (t != ScalarType.U8 && t != ScalarType.U16 && t != ScalarType.U32) {
                throw new IllegalArgumentException("field '" + field + "': a length is U8..U32");
            }
            return intBinding(t, field, d -> Array.getLength(d.values[i]), (d, v) -> { });
        }

        /** A 64-bit field stored at byte {@code offset} of a byte[] component (a register inside a KVM struct). */
        public Builder<S> u64At(String field, String bufferComponent, long offset) {
            int i = component(field, bufferComponent, byte[].class);
            b.u64(field, d -> MemorySegment.ofArray((byte[]) d.values[i]).get(ValueLayout.JAVA_LONG_UNALIGNED, offset),
                    (d, v) -> MemorySegment.ofArray((byte[]) d.values[i]).set(ValueLayout.JAVA_LONG_UNALIGNED, offset, v));
            return this;
        }

        /** A structure: a record component described by {@code part} (built with {@link #part}). */
        public <N extends Record> Builder<S> struct(String field, RecordDescription<N> part, String component) {
            // a component typed as a supertype (Record) takes the part's record: a generic container's nested state
            int i = component(field, component, null);
            Class<?> have = type.components[i].getType();
            if (!have.isAssignableFrom(part.type.type)) {
                throw new IllegalArgumentException("field '" + field + "' of '" + name + "': component '"
                        + component + "' is " + have.getSimpleName() + ", the field needs "
                        + part.type.type.getSimpleName());
            }
            nested.put(i, part);
            b.struct(field, part.description, d -> castDraft(d.values[i]));
            return this;
        }

        @SuppressWarnings("unchecked")
        private static <N extends Record> RecordDraft<N> castDraft(Object o) {
            return (RecordDraft<N>) o;
        }

        public Builder<S> unused(int size) {
            b.unused(size);
            return this;
        }

        /** A subsection (built with {@link #part} over the same record), sent when {@code needed} holds. */
        public Builder<S> subsection(RecordDescription<S> sub, Predicate<S> needed) {
            b.subsection(sub.description, d -> needed.test(d.build()));
            return this;
        }

        /** What a load starts from: the values of fields and subsections the stream does not carry. */
        public Builder<S> defaults(S state) {
            this.defaults = state;
            return this;
        }

        /** A check of the loaded record before the device gets it: null, or why it cannot be used. */
        public Builder<S> check(Function<S, String> test) {
            this.check = test;
            return this;
        }

        public RecordDescription<S> build() {
            var r = new RecordDescription<>(type, nested);
            if (top) {
                S start = defaults;
                Function<S, String> test = check;
                b.preSave(d -> {
                    if (d.bound()) {
                        d.pullFromDevice();
                    }
                });
                b.preLoad(d -> {
                    if (d.bound()) { // an unbound draft starts from what its maker put in
                        if (start != null) {
                            d.pull(start);
                        } else {
                            d.pullFromDevice();
                        }
                    }
                });
                b.postLoad((d, version) -> {
                    S state = d.build();
                    String reason = test == null ? null : test.apply(state);
                    if (reason == null && d.bound()) {
                        d.pushToDevice(state);
                    }
                    return reason;
                });
            } else if (defaults != null || check != null) {
                throw new IllegalStateException("'" + name + "': defaults and checks belong to the top description");
            }
            r.description = b.build();
            return r;
        }
    }
}
