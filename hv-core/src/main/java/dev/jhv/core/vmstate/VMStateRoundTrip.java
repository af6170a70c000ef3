package dev.jhv.core.vmstate;

import dev.jhv.core.vmstate.VMStateSchema.Field;
import dev.jhv.core.vmstate.VMStateSchema.Kind;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * The generated check every description must pass: save, load into a fresh instance, save again, and the bytes
 * match; once as the needed tests decide, then with all subsections forced on, all off, and each alone on and off.
 * Used by unit tests; lives here so every module's tests can call it.
 */
public final class VMStateRoundTrip {
    private VMStateRoundTrip() {
    }

    /** Fills {@code state} with random values fitting the description (lengths within bounds); no hooks run. */
    public static <T> void randomise(VMStateDescription<T> desc, T state, long seed) {
        desc.restoreBody(state, randomValues(desc.schema(), new Random(seed), 0));
    }

    /**
     * Runs the round trip on {@code sample} (already holding interesting values) with fresh instances from
     * {@code fresh}; throws AssertionError naming the options and the first differing byte.
     *
     * @return how many save/load/save rounds ran
     */
    public static <T> int check(VMStateDescription<T> desc, T sample, Supplier<T> fresh) {
        var options = new ArrayList<SaveOptions>();
        options.add(SaveOptions.DEFAULT);
        List<String> subs = allSubsections(desc.schema());
        SaveOptions allOn = SaveOptions.DEFAULT;
        SaveOptions allOff = SaveOptions.DEFAULT;
        for (String s : subs) {
            allOn = allOn.force(s, true);
            allOff = allOff.force(s, false);
            options.add(SaveOptions.DEFAULT.force(s, true));
            options.add(SaveOptions.DEFAULT.force(s, false));
        }
        if (!subs.isEmpty()) {
            options.add(allOn);
            options.add(allOff);
        }
        for (SaveOptions o : options) {
            byte[] first = desc.save(sample, o);
            T target = fresh.get();
            desc.load(target, first, desc.version());
            byte[] second = desc.save(target, o);
            if (!Arrays.equals(first, second)) {
                int at = Arrays.mismatch(first, second);
                throw new AssertionError("round trip of '" + desc.name() + "' with " + o.forcedSubsections()
                        + " differs at byte " + at + " (first save " + first.length + " bytes, second "
                        + second.length + ")");
            }
            String json = desc.jsonDescription();
            VMStateSchema back = VMStateSchema.fromJson(Json.parse(json));
            if (!back.equals(desc.schema())) {
                throw new AssertionError("JSON description of '" + desc.name() + "' does not parse back equal");
            }
            VMStateValues v = back.decode(new VMStateInput(first), desc.version());
            if (v.size() != first.length) {
                throw new AssertionError("the JSON description of '" + desc.name() + "' reads " + v.size()
                        + " of " + first.length + " bytes");
            }
        }
        return options.size();
    }

    /** Names of every subsection, nested ones included. */
    static List<String> allSubsections(VMStateSchema s) {
        var out = new ArrayList<String>();
        collect(s, out, 0);
        return out.stream().distinct().toList();
    }

    private static void collect(VMStateSchema s, List<String> out, int depth) {
        if (depth > 16) {
            return;
        }
        for (VMStateSchema sub : s.subsections()) {
            out.add(sub.name());
            collect(sub, out, depth + 1);
        }
        for (Field f : s.fields()) {
            switch (f.kind()) {
                case Kind.Struct k -> collect(k.schema(), out, depth + 1);
                case Kind.StructArray k -> collect(k.schema(), out, depth + 1);
                case Kind.StructVarArray k -> collect(k.schema(), out, depth + 1);
                default -> { }
            }
        }
    }

    private static final int RANDOM_MAX_LENGTH = 24;

    static VMStateValues randomValues(VMStateSchema s, Random r, int depth) {
        var v = new VMStateValues(s.name(), s.version());
        Map<String, Integer> forced = new HashMap<>();
        Map<String, ScalarType> types = new HashMap<>();
        for (Field f : s.fields()) {
            Object val = switch (f.kind()) {
                case Kind.Scalar k -> {
                    types.put(f.name(), k.type());
                    yield k.type() == ScalarType.BOOL ? (Object) r.nextBoolean() : k.type().normalise(r.nextLong());
                }
                case Kind.Buffer k -> bytes(r, k.size());
                case Kind.VBuffer k -> bytes(r, length(v, forced, types, k.lengthField(), k.max(), r));
                case Kind.Array k -> longs(r, k.type(), k.length());
                case Kind.VarArray k -> longs(r, k.type(), length(v, forced, types, k.lengthField(), k.max(), r));
                case Kind.Struct k -> randomValues(k.schema(), r, depth + 1);
                case Kind.StructArray k -> structs(r, k.schema(), k.length(), depth);
                case Kind.StructVarArray k -> structs(r, k.schema(),
                        length(v, forced, types, k.lengthField(), k.max(), r), depth);
                case Kind.Unused k -> null;
            };
            if (val != null) {
                v.put(f.name(), val);
            }
        }
        if (depth < 8) {
            for (VMStateSchema sub : s.subsections()) {
                v.subsection(sub.name(), randomValues(sub, r, depth + 1));
            }
        }
        return v;
    }

    private static int length(VMStateValues v, Map<String, Integer> forced, Map<String, ScalarType> types,
                              String field, int max, Random r) {
        Integer n = forced.get(field);
        if (n == null) {
            long typeMax = types.get(field).maxValue();
            int bound = (int) Math.min(Math.min(max, RANDOM_MAX_LENGTH), typeMax < 0 ? Integer.MAX_VALUE : typeMax);
            n = r.nextInt(bound + 1);
            forced.put(field, n);
            v.put(field, (long) n);
        }
        return n;
    }

    private static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static long[] longs(Random r, ScalarType t, int n) {
        long[] a = new long[n];
        for (int i = 0; i < n; i++) {
            a[i] = t == ScalarType.BOOL ? (r.nextBoolean() ? 1 : 0) : t.normalise(r.nextLong());
        }
        return a;
    }

    private static List<VMStateValues> structs(Random r, VMStateSchema s, int n, int depth) {
        var l = new ArrayList<VMStateValues>();
        for (int i = 0; i < n; i++) {
            l.add(randomValues(s, r, depth + 1));
        }
        return l;
    }
}
