package dev.jhv.core.vmstate;

import dev.jhv.core.vmstate.VMStateSchema.Field;
import dev.jhv.core.vmstate.VMStateSchema.Kind;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ObjIntConsumer;
import java.util.function.ObjLongConsumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;
import java.util.function.ToLongFunction;

/**
 * The declared state of a device of type T: name, version, minimum version, ordered fields with their accessors,
 * subsections with their {@code needed} tests, and pre-save / post-load hooks. Saving and loading are generated
 * from it, and so is the JSON description (see {@link VMStateSchema}).
 *
 * <pre>{@code
 * static final VMStateDescription<Uart> VMSD = VMStateDescription.<Uart>builder("serial", 3)
 *         .minimumVersion(2)
 *         .u16("divider", u -> u.divider, (u, v) -> u.divider = v)
 *         .u8("lcr", u -> u.lcr, (u, v) -> u.lcr = v)
 *         .u8("scr", u -> u.scr, (u, v) -> u.scr = v).since(3)
 *         .subsection(FIFO_TIMEOUT, u -> u.timeoutPending)
 *         .postLoad((u, version) -> u.lcr > 0xff ? "bad lcr" : null)
 *         .build();
 * }</pre>
 *
 * <p>Loading is atomic: the stream is decoded into {@link VMStateValues} first, then applied; if a value is
 * rejected (by a setter or a post-load hook) the device gets back every value it had before.
 */
public final class VMStateDescription<T> {
    private final VMStateSchema schema;
    private final List<FieldDef<T>> fields;
    private final List<SubDef<T>> subsections;
    private final Consumer<T> preSave;
    private final Consumer<T> preLoad;
    private final PostLoad<T> postLoad;

    private record FieldDef<T>(Field field, Binding<T> binding, Predicate<T> when) { }

    private record SubDef<T>(VMStateDescription<T> desc, Predicate<T> needed) { }

    private VMStateDescription(VMStateSchema schema, List<FieldDef<T>> fields, List<SubDef<T>> subsections,
                               Consumer<T> preSave, Consumer<T> preLoad, PostLoad<T> postLoad) {
        this.schema = schema;
        this.fields = fields;
        this.subsections = subsections;
        this.preSave = preSave;
        this.preLoad = preLoad;
        this.postLoad = postLoad;
    }

    public static <T> Builder<T> builder(String name, int version) {
        return new Builder<>(name, version);
    }

    public String name() {
        return schema.name();
    }

    public int version() {
        return schema.version();
    }

    public int minimumVersion() {
        return schema.minimumVersion();
    }

    /** The shape of this description, as the JSON description states it. */
    public VMStateSchema schema() {
        return schema;
    }

    /** The JSON description (one line). */
    public String jsonDescription() {
        return Json.write(schema.toJson());
    }

    // ---- save ----

    public byte[] save(T state) {
        return save(state, SaveOptions.DEFAULT);
    }

    public byte[] save(T state, SaveOptions options) {
        var out = new VMStateOutput();
        save(state, out, options);
        return out.toByteArray();
    }

    /** Writes the state at this description's version. */
    public void save(T state, VMStateOutput out) {
        save(state, out, SaveOptions.DEFAULT);
    }

    public void save(T state, VMStateOutput out, SaveOptions options) {
        encode(state, out, options, name());
    }

    private void encode(T state, VMStateOutput out, SaveOptions options, String path) {
        if (preSave != null) {
            preSave.accept(state);
        }
        for (FieldDef<T> f : fields) {
            String fp = path + "/" + f.field().name();
            if (f.when() != null) {
                boolean present = f.when().test(state);
                out.u8(present ? 1 : 0);
                if (!present) {
                    continue;
                }
            }
            f.binding().encode(state, out, options, fp);
        }
        for (SubDef<T> s : subsections) {
            Boolean forced = options.forced(s.desc().name());
            boolean needed = forced != null ? forced : s.needed().test(state);
            if (needed) {
                out.u8(VMStateSchema.SUBSECTION);
                out.string8(s.desc().name());
                out.u32(s.desc().version());
                s.desc().encode(state, out, options, schema.subsectionPath(path, s.desc().schema));
            }
        }
        out.u8(VMStateSchema.END);
    }

    // ---- load ----

    /** Loads a state written at {@code streamVersion} from a byte array that holds exactly it. */
    public void load(T state, byte[] data, int streamVersion) {
        var in = new VMStateInput(data);
        load(state, in, streamVersion);
        if (in.offset() != data.length) {
            throw in.error(name(), (data.length - in.offset()) + " bytes left over after the state");
        }
    }

    /**
     * Reads this description's state at {@code streamVersion} and puts it into {@code state}. On any error the
     * state is left as it was and a VMStateException names section, field path, versions and offset.
     */
    public void load(T state, VMStateInput in, int streamVersion) {
        VMStateValues values = schema.decode(in, streamVersion);
        try {
            apply(state, values);
        } catch (VMStateException e) {
            throw new VMStateException(in.section(), in.instanceId(), e.fieldPath(), in.offset(), e.reason(),
                    schema.versions(streamVersion), e);
        }
    }

    /** Reads the values without touching any device (the first half of a staged load). */
    public VMStateValues decode(VMStateInput in, int streamVersion) {
        return schema.decode(in, streamVersion);
    }

    /**
     * Puts decoded values into the device and runs the post-load hooks; all or nothing: if a setter throws or a
     * hook rejects, every value the device had is put back and VMStateException is thrown.
     */
    public void apply(T state, VMStateValues values) {
        if (!values.name().equals(name())) {
            throw new VMStateException(null, -1, name(), -1, "values of '" + values.name() + "' given",
                    null, null);
        }
        if (preLoad != null) {
            preLoad.accept(state);
        }
        VMStateValues before = captureBody(state);
        try {
            applyBody(state, values, true, name());
        } catch (VMStateException e) {
            restoreBody(state, before);
            throw e;
        } catch (RuntimeException e) {
            restoreBody(state, before);
            throw new VMStateException(null, -1, name(), -1, "the device refused the state: " + reason(e), null, e);
        }
    }

    /**
     * Every value the device holds now (all fields and subsections, whatever the tests say); a {@link Live}
     * state reads its device first.
     */
    public VMStateValues capture(T state) {
        if (state instanceof Live live) {
            live.refresh();
        }
        return captureBody(state);
    }

    VMStateValues captureBody(T state) {
        var v = new VMStateValues(name(), version());
        for (FieldDef<T> f : fields) {
            Object c = f.binding().capture(state);
            if (c != null) {
                v.put(f.field().name(), c);
            }
        }
        for (SubDef<T> s : subsections) {
            v.subsection(s.desc().name(), s.desc().captureBody(state));
        }
        return v;
    }

    /** Puts back values from {@link #capture} (no hooks run); a {@link Live} state writes its device after. */
    public void restore(T state, VMStateValues snapshot) {
        restoreBody(state, snapshot);
        if (state instanceof Live live) {
            live.writeBack();
        }
    }

    void restoreBody(T state, VMStateValues snapshot) {
        applyBody(state, snapshot, false, name());
    }

    /**
     * A state object that stands for a device elsewhere (a record draft): {@link #capture} reads the device
     * first and {@link #restore} writes the device back, so that a load spanning several devices can undo the
     * ones it already changed.
     */
    public interface Live {
        void refresh();

        void writeBack();
    }

    private void applyBody(T state, VMStateValues values, boolean hooks, String path) {
        for (FieldDef<T> f : fields) {
            String n = f.field().name();
            if (values.has(n)) {
                String fp = path + "/" + n;
                try {
                    f.binding().apply(state, values.get(n), hooks, fp);
                } catch (VMStateException e) {
                    throw e;
                } catch (RuntimeException e) {
                    throw new VMStateException(null, -1, fp, -1, "the device refused the value: " + reason(e), null, e);
                }
            }
        }
        for (var e : values.subsections().entrySet()) {
            SubDef<T> s = sub(e.getKey());
            if (s == null) {
                throw new VMStateException(null, -1, path + "/" + e.getKey(), -1, "unknown subsection", null,
                        null);
            }
            s.desc().applyBody(state, e.getValue(), hooks, schema.subsectionPath(path, s.desc().schema));
        }
        if (hooks && postLoad != null) {
            String reason = postLoad.check(state, values.version());
            if (reason != null) {
                throw new VMStateException(null, -1, path, -1, "post-load rejected the state: " + reason, null,
                        null);
            }
        }
    }

    private SubDef<T> sub(String subName) {
        for (SubDef<T> s : subsections) {
            if (s.desc().name().equals(subName)) {
                return s;
            }
        }
        return null;
    }

    // ---- bindings: how a field's value moves between the object and its decoded form ----

    private interface Binding<T> {
        void encode(T state, VMStateOutput out, SaveOptions options, String path);

        /** The value in decoded form (see VMStateValues), or null for padding. */
        Object capture(T state);

        void apply(T state, Object value, boolean hooks, String path);
    }

    private static VMStateException saveError(String path, String reason) {
        return new VMStateException(null, -1, path, -1, "cannot save: " + reason, null, null);
    }

    private record IntScalar<T>(ScalarType type, ToIntFunction<T> get, ObjIntConsumer<T> set) implements Binding<T> {
        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            out.bits(get.applyAsInt(s), type.size());
        }

        public Object capture(T s) {
            return type.normalise(get.applyAsInt(s));
        }

        public void apply(T s, Object v, boolean hooks, String p) {
            set.accept(s, (int) (long) (Long) v);
        }
    }

    private record LongScalar<T>(ScalarType type, ToLongFunction<T> get, ObjLongConsumer<T> set)
            implements Binding<T> {
        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            out.bits(get.applyAsLong(s), 8);
        }

        public Object capture(T s) {
            return get.applyAsLong(s);
        }

        public void apply(T s, Object v, boolean hooks, String p) {
            set.accept(s, (Long) v);
        }
    }

    private record Bool<T>(Predicate<T> get, BoolSetter<T> set) implements Binding<T> {
        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            out.u8(get.test(s) ? 1 : 0);
        }

        public Object capture(T s) {
            return get.test(s);
        }

        public void apply(T s, Object v, boolean hooks, String p) {
            set.set(s, (Boolean) v);
        }
    }

    private record Buffer<T>(int size, Function<T, byte[]> get) implements Binding<T> {
        byte[] array(T s, String p) {
            byte[] b = get.apply(s);
            if (b == null || b.length != size) {
                throw saveError(p, "the buffer has " + (b == null ? "no" : b.length) + " bytes, the description "
                        + size);
            }
            return b;
        }

        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            out.bytes(array(s, p));
        }

        public Object capture(T s) {
            return get.apply(s).clone();
        }

        public void apply(T s, Object v, boolean hooks, String p) {
            System.arraycopy((byte[]) v, 0, array(s, p), 0, size);
        }
    }

    /** Reads the current value of a length field through its binding. */
    private static <T> int lengthOf(Binding<T> lengthBinding, T s, int max, String p) {
        long n = (Long) lengthBinding.capture(s);
        if (n < 0 || n > max) {
            throw saveError(p, "its length " + n + " is over the bound " + max);
        }
        return (int) n;
    }

    private record VBuffer<T>(Binding<T> length, int max, Function<T, byte[]> get, BiConsumer<T, byte[]> set)
            implements Binding<T> {
        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            int n = lengthOf(length, s, max, p);
            byte[] b = get.apply(s);
            int have = b == null ? 0 : b.length;
            if (have < n) {
                throw saveError(p, "the length field says " + n + " bytes, the buffer has " + have);
            }
            out.bytes(b, 0, n);
        }

        public Object capture(T s) {
            byte[] b = get.apply(s);
            return b == null ? new byte[0] : b.clone();
        }

        public void apply(T s, Object v, boolean hooks, String p) {
            set.accept(s, ((byte[]) v).clone());
        }
    }

    private static long element(ScalarType t, int[] ia, long[] la, int i) {
        return ia != null ? t.normalise(ia[i]) : la[i];
    }

    private record IntArray<T>(ScalarType type, int length, Function<T, int[]> get) implements Binding<T> {
        int[] array(T s, String p) {
            int[] a = get.apply(s);
            if (a == null || a.length != length) {
                throw saveError(p, "the array has " + (a == null ? "no" : a.length) + " elements, the description "
                        + length);
            }
            return a;
        }

        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            for (int x : array(s, p)) {
                out.bits(x, type.size());
            }
        }

        public Object capture(T s) {
            int[] a = get.apply(s);
            long[] r = new long[a.length];
            for (int i = 0; i < a.length; i++) {
                r[i] = element(type, a, null, i);
            }
            return r;
        }

        public void apply(T s, Object v, boolean hooks, String p) {
            int[] a = array(s, p);
            long[] src = (long[]) v;
            for (int i = 0; i < length; i++) {
                a[i] = (int) src[i];
            }
        }
    }

    private record LongArray<T>(int length, Function<T, long[]> get) implements Binding<T> {
        long[] array(T s, String p) {
            long[] a = get.apply(s);
            if (a == null || a.length != length) {
                throw saveError(p, "the array has " + (a == null ? "no" : a.length) + " elements, the description "
                        + length);
            }
            return a;
        }

        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            for (long x : array(s, p)) {
                out.u64(x);
            }
        }

        public Object capture(T s) {
            return get.apply(s).clone();
        }

        public void apply(T s, Object v, boolean hooks, String p) {
            System.arraycopy((long[]) v, 0, array(s, p), 0, length);
        }
    }

    private record IntVarArray<T>(ScalarType type, Binding<T> length, int max, Function<T, int[]> get,
                                  BiConsumer<T, int[]> set) implements Binding<T> {
        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            int n = lengthOf(length, s, max, p);
            int[] a = get.apply(s);
            int have = a == null ? 0 : a.length;
            if (have < n) {
                throw saveError(p, "the length field says " + n + " elements, the array has " + have);
            }
            for (int i = 0; i < n; i++) {
                out.bits(a[i], type.size());
            }
        }

        public Object capture(T s) {
            int[] a = get.apply(s);
            long[] r = new long[a == null ? 0 : a.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = element(type, a, null, i);
            }
            return r;
        }

        public void apply(T s, Object v, boolean hooks, String p) {
            long[] src = (long[]) v;
            int[] a = new int[src.length];
            for (int i = 0; i < a.length; i++) {
                a[i] = (int) src[i];
            }
            set.accept(s, a);
        }
    }

    private record LongVarArray<T>(Binding<T> length, int max, Function<T, long[]> get, BiConsumer<T, long[]> set)
            implements Binding<T> {
        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            int n = lengthOf(length, s, max, p);
            long[] a = get.apply(s);
            int have = a == null ? 0 : a.length;
            if (have < n) {
                throw saveError(p, "the length field says " + n + " elements, the array has " + have);
            }
            for (int i = 0; i < n; i++) {
                out.u64(a[i]);
            }
        }

        public Object capture(T s) {
            long[] a = get.apply(s);
            return a == null ? new long[0] : a.clone();
        }

        public void apply(T s, Object v, boolean hooks, String p) {
            set.accept(s, ((long[]) v).clone());
        }
    }

    private record Struct<T, S>(VMStateDescription<S> desc, Function<T, S> get) implements Binding<T> {
        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            desc.encode(get.apply(s), out, o, p);
        }

        public Object capture(T s) {
            return desc.capture(get.apply(s));
        }

        public void apply(T s, Object v, boolean hooks, String p) {
            desc.applyBody(get.apply(s), (VMStateValues) v, hooks, p);
        }
    }

    private record StructArray<T, S>(VMStateDescription<S> desc, int length, Function<T, ? extends List<S>> get)
            implements Binding<T> {
        List<S> list(T s, String p) {
            List<S> l = get.apply(s);
            if (l == null || l.size() != length) {
                throw saveError(p, "the array has " + (l == null ? "no" : l.size()) + " elements, the description "
                        + length);
            }
            return l;
        }

        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            List<S> l = list(s, p);
            for (int i = 0; i < length; i++) {
                desc.encode(l.get(i), out, o, p + "[" + i + "]");
            }
        }

        public Object capture(T s) {
            var r = new ArrayList<VMStateValues>();
            for (S e : get.apply(s)) {
                r.add(desc.capture(e));
            }
            return r;
        }

        @SuppressWarnings("unchecked")
        public void apply(T s, Object v, boolean hooks, String p) {
            List<S> l = list(s, p);
            List<VMStateValues> src = (List<VMStateValues>) v;
            for (int i = 0; i < length; i++) {
                desc.applyBody(l.get(i), src.get(i), hooks, p + "[" + i + "]");
            }
        }
    }

    private record StructVarArray<T, S>(VMStateDescription<S> desc, Binding<T> length, int max,
                                        Function<T, ? extends List<S>> get, BiConsumer<T, List<S>> set,
                                        Supplier<S> factory) implements Binding<T> {
        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            int n = lengthOf(length, s, max, p);
            List<S> l = get.apply(s);
            int have = l == null ? 0 : l.size();
            if (have < n) {
                throw saveError(p, "the length field says " + n + " elements, the list has " + have);
            }
            for (int i = 0; i < n; i++) {
                desc.encode(l.get(i), out, o, p + "[" + i + "]");
            }
        }

        public Object capture(T s) {
            var r = new ArrayList<VMStateValues>();
            List<S> l = get.apply(s);
            if (l != null) {
                for (S e : l) {
                    r.add(desc.capture(e));
                }
            }
            return r;
        }

        @SuppressWarnings("unchecked")
        public void apply(T s, Object v, boolean hooks, String p) {
            List<VMStateValues> src = (List<VMStateValues>) v;
            List<S> cur = get.apply(s);
            var l = new ArrayList<S>(src.size());
            for (int i = 0; i < src.size(); i++) {
                S e = cur != null && i < cur.size() ? cur.get(i) : factory.get();
                desc.applyBody(e, src.get(i), hooks, p + "[" + i + "]");
                l.add(e);
            }
            set.accept(s, l);
        }
    }

    private record Unused<T>(int size) implements Binding<T> {
        public void encode(T s, VMStateOutput out, SaveOptions o, String p) {
            out.zeros(size);
        }

        public Object capture(T s) {
            return null;
        }

        public void apply(T s, Object v, boolean hooks, String p) {
        }
    }

    // ---- builder ----

    /** Declares a description field by field; the last field declared can be refined with since/when. */
    public static final class Builder<T> {
        private final String name;
        private final int version;
        private int minimumVersion;
        private final List<Object[]> entries = new ArrayList<>(); // {name, kind, since, when, binding}
        private final List<SubDef<T>> subsections = new ArrayList<>();
        private Consumer<T> preSave;
        private Consumer<T> preLoad;
        private PostLoad<T> postLoad;
        private int unusedCount;

        private Builder(String name, int version) {
            this.name = name;
            this.version = version;
        }

        /** The oldest stream version this build still loads (default 0: every older version). */
        public Builder<T> minimumVersion(int v) {
            this.minimumVersion = v;
            return this;
        }

        private Builder<T> add(String fieldName, Kind kind, Binding<T> binding) {
            entries.add(new Object[] {fieldName, kind, 0, null, binding});
            return this;
        }

        private Object[] last() {
            if (entries.isEmpty()) {
                throw new IllegalStateException("since/when must follow a field");
            }
            return entries.getLast();
        }

        /** The last field exists only from stream version {@code v} on; older streams leave it as it is. */
        public Builder<T> since(int v) {
            last()[2] = v;
            return this;
        }

        /** The last field is sent only when the test holds at save time (a presence byte precedes it). */
        public Builder<T> when(Predicate<T> test) {
            last()[3] = test;
            return this;
        }

        @SuppressWarnings("unchecked")
        private Binding<T> lengthBinding(String lengthField, String fieldName) {
            for (Object[] e : entries) {
                if (e[0].equals(lengthField)) {
                    if (e[4] instanceof IntScalar<?> || e[4] instanceof LongScalar<?>) {
                        return (Binding<T>) e[4];
                    }
                }
            }
            throw new IllegalArgumentException("field '" + fieldName + "' of '" + name + "': length field '"
                    + lengthField + "' must be an integer field declared before it");
        }

        private Builder<T> intScalar(String n, ScalarType t, ToIntFunction<T> get, ObjIntConsumer<T> set) {
            return add(n, new Kind.Scalar(t), new IntScalar<>(t, get, set));
        }

        public Builder<T> u8(String n, ToIntFunction<T> get, ObjIntConsumer<T> set) {
            return intScalar(n, ScalarType.U8, get, set);
        }

        public Builder<T> u16(String n, ToIntFunction<T> get, ObjIntConsumer<T> set) {
            return intScalar(n, ScalarType.U16, get, set);
        }

        /** An unsigned 32-bit field kept in a Java int (the setter gets the raw bits). */
        public Builder<T> u32(String n, ToIntFunction<T> get, ObjIntConsumer<T> set) {
            return intScalar(n, ScalarType.U32, get, set);
        }

        public Builder<T> s8(String n, ToIntFunction<T> get, ObjIntConsumer<T> set) {
            return intScalar(n, ScalarType.S8, get, set);
        }

        public Builder<T> s16(String n, ToIntFunction<T> get, ObjIntConsumer<T> set) {
            return intScalar(n, ScalarType.S16, get, set);
        }

        public Builder<T> s32(String n, ToIntFunction<T> get, ObjIntConsumer<T> set) {
            return intScalar(n, ScalarType.S32, get, set);
        }

        /** An unsigned 64-bit field kept in a Java long (raw bits). */
        public Builder<T> u64(String n, ToLongFunction<T> get, ObjLongConsumer<T> set) {
            return add(n, new Kind.Scalar(ScalarType.U64), new LongScalar<>(ScalarType.U64, get, set));
        }

        public Builder<T> s64(String n, ToLongFunction<T> get, ObjLongConsumer<T> set) {
            return add(n, new Kind.Scalar(ScalarType.S64), new LongScalar<>(ScalarType.S64, get, set));
        }

        public Builder<T> bool(String n, Predicate<T> get, BoolSetter<T> set) {
            return add(n, new Kind.Scalar(ScalarType.BOOL), new Bool<>(get, set));
        }

        /** A fixed-size byte buffer, loaded in place into the array the getter returns. */
        public Builder<T> buffer(String n, int size, Function<T, byte[]> get) {
            return add(n, new Kind.Buffer(size), new Buffer<>(size, get));
        }

        /**
         * A byte buffer whose length is the value of the earlier integer field {@code lengthField}, at most
         * {@code max}; the setter gets a new array of exactly that length.
         */
        public Builder<T> vbuffer(String n, String lengthField, int max, Function<T, byte[]> get,
                                  BiConsumer<T, byte[]> set) {
            return add(n, new Kind.VBuffer(lengthField, max),
                    new VBuffer<>(lengthBinding(lengthField, n), max, get, set));
        }

        /** A fixed array of 8/16/32-bit scalars (type U8..S32 or BOOL) kept in an int[], loaded in place. */
        public Builder<T> intArray(String n, ScalarType type, int length, Function<T, int[]> get) {
            requireInt(n, type);
            return add(n, new Kind.Array(type, length), new IntArray<>(type, length, get));
        }

        /** A fixed array of 64-bit scalars (U64 or S64) kept in a long[], loaded in place. */
        public Builder<T> longArray(String n, ScalarType type, int length, Function<T, long[]> get) {
            requireLong(n, type);
            return add(n, new Kind.Array(type, length), new LongArray<>(length, get));
        }

        /** An int[] array whose length is the value of {@code lengthField}, at most max. */
        public Builder<T> intVarArray(String n, ScalarType type, String lengthField, int max,
                                      Function<T, int[]> get, BiConsumer<T, int[]> set) {
            requireInt(n, type);
            return add(n, new Kind.VarArray(type, lengthField, max),
                    new IntVarArray<>(type, lengthBinding(lengthField, n), max, get, set));
        }

        public Builder<T> longVarArray(String n, ScalarType type, String lengthField, int max,
                                       Function<T, long[]> get, BiConsumer<T, long[]> set) {
            requireLong(n, type);
            return add(n, new Kind.VarArray(type, lengthField, max),
                    new LongVarArray<>(lengthBinding(lengthField, n), max, get, set));
        }

        private void requireInt(String n, ScalarType t) {
            if (!t.fitsInt() && t != ScalarType.BOOL) {
                throw new IllegalArgumentException("field '" + n + "': " + t + " needs a long[] array");
            }
        }

        private void requireLong(String n, ScalarType t) {
            if (t != ScalarType.U64 && t != ScalarType.S64) {
                throw new IllegalArgumentException("field '" + n + "': " + t + " needs an int[] array");
            }
        }

        /** A nested description over an object the getter returns, loaded in place. */
        public <S> Builder<T> struct(String n, VMStateDescription<S> desc, Function<T, S> get) {
            return add(n, new Kind.Struct(desc.schema()), new Struct<>(desc, get));
        }

        /** A fixed array of nested descriptions; the list must have {@code length} elements, loaded in place. */
        public <S> Builder<T> structArray(String n, VMStateDescription<S> desc, int length,
                                          Function<T, ? extends List<S>> get) {
            return add(n, new Kind.StructArray(desc.schema(), length), new StructArray<>(desc, length, get));
        }

        /**
         * A list of nested descriptions whose length is the value of {@code lengthField}, at most max. On load
         * existing elements are reused by index, new ones come from the factory, and the setter gets the list.
         */
        public <S> Builder<T> structVarArray(String n, VMStateDescription<S> desc, String lengthField, int max,
                                             Function<T, ? extends List<S>> get, BiConsumer<T, List<S>> set,
                                             Supplier<S> factory) {
            return add(n, new Kind.StructVarArray(desc.schema(), lengthField, max),
                    new StructVarArray<>(desc, lengthBinding(lengthField, n), max, get, set, factory));
        }

        /** Padding kept for old streams: written as zeros, skipped on load. */
        public Builder<T> unused(int size) {
            return add("unused" + unusedCount++, new Kind.Unused(size), new Unused<>(size));
        }

        /** A subsection over the same object, sent when {@code needed} holds at save time. */
        public Builder<T> subsection(VMStateDescription<T> sub, Predicate<T> needed) {
            subsections.add(new SubDef<>(sub, needed));
            return this;
        }

        public Builder<T> preSave(Consumer<T> hook) {
            this.preSave = hook;
            return this;
        }

        /** Runs once before a load's values go in (QEMU's pre_load): e.g. to start from defaults. */
        public Builder<T> preLoad(Consumer<T> hook) {
            this.preLoad = hook;
            return this;
        }

        public Builder<T> postLoad(PostLoad<T> hook) {
            this.postLoad = hook;
            return this;
        }

        @SuppressWarnings("unchecked")
        public VMStateDescription<T> build() {
            var schemaFields = new ArrayList<Field>();
            var defs = new ArrayList<FieldDef<T>>();
            for (Object[] e : entries) {
                var f = new Field((String) e[0], (Kind) e[1], (Integer) e[2], e[3] != null);
                schemaFields.add(f);
                defs.add(new FieldDef<>(f, (Binding<T>) e[4], (Predicate<T>) e[3]));
            }
            var subSchemas = subsections.stream().map(s -> s.desc().schema()).toList();
            var schema = new VMStateSchema(name, version, minimumVersion, schemaFields, subSchemas);
            schema.validate();
            return new VMStateDescription<>(schema, List.copyOf(defs), List.copyOf(subsections), preSave, preLoad,
                    postLoad);
        }
    }

    @Override
    public String toString() {
        return "VMStateDescription[" + name() + " v" + version() + "]";
    }

    /** A device's refusal in words: its message, or what kind of failure it was when it gave none. */
    private static String reason(RuntimeException e) {
        return e.getMessage() != null ? e.getMessage() : "an internal error (" + e.getClass().getSimpleName() + ")";
    }
}
