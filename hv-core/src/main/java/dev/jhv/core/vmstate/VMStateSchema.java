package dev.jhv.core.vmstate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The shape of a description without its accessors: what the JSON description in a stream says, and what the
 * decoder follows. Built from a {@link VMStateDescription} or parsed back from a stream's JSON.
 *
 * <p>Wire form of one description at stream version v: each field with {@code since <= v} in order (a conditional
 * field is preceded by a presence byte 0/1), then each subsection the writer sent as {@code 0x05, u8 name length,
 * name, be32 version, body}, then an end byte {@code 0x00}. Nested descriptions use the same form at their own
 * current version.
 */
public record VMStateSchema(String name, int version, int minimumVersion, List<Field> fields,
                            List<VMStateSchema> subsections) {

    /** Marker before each subsection in the wire form. */
    public static final int SUBSECTION = 0x05;
    /** Marker after the last subsection of a description. */
    public static final int END = 0x00;
    /** Bound on a fixed buffer or array a description may declare (bytes or elements). */
    public static final int MAX_FIXED = 1 << 24;

    public VMStateSchema {
        fields = List.copyOf(fields);
        subsections = List.copyOf(subsections);
    }

    /** One field: its name, kind, the version it appeared in, and whether it is sent only when a test holds. */
    public record Field(String name, Kind kind, int since, boolean conditional) {
    }

    /** Field kinds. Length fields name an earlier unconditional scalar field of the same description. */
    public sealed interface Kind {
        record Scalar(ScalarType type) implements Kind { }
        record Buffer(int size) implements Kind { }
        record VBuffer(String lengthField, int max) implements Kind { }
        record Array(ScalarType type, int length) implements Kind { }
        record VarArray(ScalarType type, String lengthField, int max) implements Kind { }
        record Struct(VMStateSchema schema) implements Kind { }
        record StructArray(VMStateSchema schema, int length) implements Kind { }
        record StructVarArray(VMStateSchema schema, String lengthField, int max) implements Kind { }
        record Unused(int size) implements Kind { }
    }

    /** Checks the rules every description follows; throws VMStateException naming the problem. */
    void validate() {
        if (name == null || name.isEmpty() || name.length() > 255) {
            throw new VMStateException("description name must be 1..255 characters: '" + name + "'");
        }
        if (version < 0 || minimumVersion < 0 || minimumVersion > version) {
            throw new VMStateException("description '" + name + "': bad versions " + minimumVersion + ".."
                    + version);
        }
        Map<String, Field> seen = new LinkedHashMap<>();
        for (Field f : fields) {
            if (f.name() == null || f.name().isEmpty() || seen.containsKey(f.name())) {
                throw new VMStateException("description '" + name + "': missing or repeated field name '"
                        + f.name() + "'");
            }
            if (f.since() < 0 || f.since() > version) {
                throw new VMStateException("description '" + name + "' field '" + f.name() + "': since "
                        + f.since() + " is not within 0.." + version);
            }
            String lengthField = null;
            int max = 0;
            switch (f.kind()) {
                case Kind.Scalar s -> Objects.requireNonNull(s.type());
                case Kind.Buffer b -> checkFixed(f, b.size());
                case Kind.Unused u -> checkFixed(f, u.size());
                case Kind.Array a -> checkFixed(f, a.length());
                case Kind.VBuffer v -> {
                    lengthField = v.lengthField();
                    max = v.max();
                }
                case Kind.VarArray v -> {
                    lengthField = v.lengthField();
                    max = v.max();
                }
                case Kind.Struct s -> s.schema().validate();
                case Kind.StructArray s -> {
                    checkFixed(f, s.length());
                    s.schema().validate();
                }
                case Kind.StructVarArray s -> {
                    lengthField = s.lengthField();
                    max = s.max();
                    s.schema().validate();
                }
            }
            if (f.kind() instanceof Kind.Array a && a.type() == null) {
                throw new VMStateException("description '" + name + "' field '" + f.name() + "': no type");
            }
            if (lengthField != null || max != 0) {
                checkFixed(f, max);
                Field lf = seen.get(lengthField);
                if (lf == null || !(lf.kind() instanceof Kind.Scalar ls) || ls.type() == ScalarType.BOOL
                        || lf.conditional() || lf.since() > f.since()) {
                    throw new VMStateException("description '" + name + "' field '" + f.name()
                            + "': length field '" + lengthField
                            + "' must be an earlier unconditional integer field present whenever this one is");
                }
            }
            seen.put(f.name(), f);
        }
        var subNames = new HashSet<String>();
        for (VMStateSchema s : subsections) {
            s.validate();
            if (!subNames.add(s.name())) {
                throw new VMStateException("description '" + name + "': repeated subsection '" + s.name() + "'");
            }
        }
    }

    private void checkFixed(Field f, int n) {
        if (n < 0 || n > MAX_FIXED) {
            throw new VMStateException("description '" + name + "' field '" + f.name() + "': size " + n
                    + " is not within 0.." + MAX_FIXED);
        }
    }

    /** The subsection of that name, or null. */
    public VMStateSchema subsection(String subName) {
        for (VMStateSchema s : subsections) {
            if (s.name().equals(subName)) {
                return s;
            }
        }
        return null;
    }

    String versions(int streamVersion) {
        return "stream version " + streamVersion + ", this build reads " + minimumVersion + ".." + version;
    }

    /** The path of a subsection under its parent's path (QEMU names subsections "parent/sub"). */
    String subsectionPath(String path, VMStateSchema sub) {
        return subsectionPath(path, sub.name());
    }

    String subsectionPath(String path, String subName) {
        if (subName.startsWith(name + "/")) {
            return path + subName.substring(name.length());
        }
        return path + "/" + subName;
    }

    /**
     * Reads one description written at {@code streamVersion}; touches nothing but the input.
     *
     * @throws VMStateException for anything the stream gets wrong, naming field path, versions and offset
     */
    public VMStateValues decode(VMStateInput in, int streamVersion) {
        return decode(in, streamVersion, name);
    }

    VMStateValues decode(VMStateInput in, int streamVersion, String path) {
        if (streamVersion > version) {
            throw in.error(path, "the stream's version " + streamVersion + " is newer than this build knows ("
                    + version + ")", versions(streamVersion));
        }
        if (streamVersion < minimumVersion) {
            throw in.error(path, "the stream's version " + streamVersion + " is older than this build accepts ("
                    + minimumVersion + ")", versions(streamVersion));
        }
        long start = in.offset();
        var values = new VMStateValues(name, streamVersion);
        for (Field f : fields) {
            if (f.since() > streamVersion) {
                continue;
            }
            String fp = path + "/" + f.name();
            long fieldStart = in.offset();
            if (f.conditional()) {
                int present = in.u8(fp);
                if (present > 1) {
                    throw in.error(fp, "presence byte is " + present + ", expected 0 or 1",
                            versions(streamVersion));
                }
                if (present == 0) {
                    values.size(f.name(), 1);
                    continue;
                }
            }
            Object v = switch (f.kind()) {
                case Kind.Scalar s -> scalar(in, s.type(), fp, streamVersion);
                case Kind.Buffer b -> in.bytes(fp, b.size());
                case Kind.VBuffer b -> in.bytes(fp, length(in, values, b.lengthField(), b.max(), fp,
                        streamVersion));
                case Kind.Array a -> array(in, a.type(), a.length(), fp, streamVersion);
                case Kind.VarArray a -> array(in, a.type(),
                        length(in, values, a.lengthField(), a.max(), fp, streamVersion), fp, streamVersion);
                case Kind.Struct s -> s.schema().decode(in, s.schema().version(), fp);
                case Kind.StructArray s -> structs(in, s.schema(), s.length(), fp);
                case Kind.StructVarArray s -> structs(in, s.schema(),
                        length(in, values, s.lengthField(), s.max(), fp, streamVersion), fp);
                case Kind.Unused u -> {
                    in.skip(fp, u.size());
                    yield null;
                }
            };
            if (v != null) {
                values.put(f.name(), v);
            }
            values.size(f.name(), in.offset() - fieldStart);
        }
        while (true) {
            long markerAt = in.offset();
            int marker = in.u8(path);
            if (marker == END) {
                break;
            }
            if (marker != SUBSECTION) {
                throw in.error(path, String.format("expected a subsection (0x05) or the end of '%s' (0x00) at "
                        + "offset %d, found 0x%02x", name, markerAt, marker), versions(streamVersion));
            }
            String subName = in.string8(path);
            String subPath = subsectionPath(path, subName);
            int subVersion = in.s32(subPath);
            VMStateSchema sub = subsection(subName);
            if (sub == null) {
                throw in.error(subPath, "unknown subsection '" + subName + "' of '" + name + "'",
                        versions(streamVersion));
            }
            if (values.subsections().containsKey(subName)) {
                throw in.error(subPath, "subsection '" + subName + "' appears twice",
                        versions(streamVersion));
            }
            VMStateValues subValues = sub.decode(in, subVersion, subPath);
            subValues.totalSize(in.offset() - markerAt); // with its marker, name and version
            values.subsection(subName, subValues);
        }
        values.totalSize(in.offset() - start);
        return values;
    }

    private Object scalar(VMStateInput in, ScalarType t, String fp, int streamVersion) {
        long bits = in.bits(fp, t.size());
        if (t == ScalarType.BOOL) {
            if (bits > 1) {
                throw in.error(fp, "bool has value " + bits + ", expected 0 or 1", versions(streamVersion));
            }
            return bits == 1;
        }
        return t.normalise(bits);
    }

    private long[] array(VMStateInput in, ScalarType t, int n, String fp, int streamVersion) {
        long[] a = new long[Math.min(n, 4096)]; // grows as elements arrive: a short stream allocates little
        for (int i = 0; i < n; i++) {
            if (i == a.length) {
                a = Arrays.copyOf(a, (int) Math.min(n, 2L * a.length));
            }
            String ep = fp + "[" + i + "]";
            long bits = in.bits(ep, t.size());
            if (t == ScalarType.BOOL && bits > 1) {
                throw in.error(ep, "bool has value " + bits + ", expected 0 or 1", versions(streamVersion));
            }
            a[i] = t.normalise(bits);
        }
        return a;
    }

    private List<VMStateValues> structs(VMStateInput in, VMStateSchema s, int n, String fp) {
        var l = new ArrayList<VMStateValues>(Math.min(n, 1024));
        for (int i = 0; i < n; i++) {
            l.add(s.decode(in, s.version(), fp + "[" + i + "]"));
        }
        return l;
    }

    private int length(VMStateInput in, VMStateValues values, String lengthField, int max, String fp,
                       int streamVersion) {
        Object lv = values.get(lengthField);
        if (!(lv instanceof Long l)) {
            throw in.error(fp, "its length field '" + lengthField + "' was not in the stream",
                    versions(streamVersion));
        }
        if (l < 0 || l > max) {
            throw in.error(fp, "length " + Long.toUnsignedString(l) + " (from '" + lengthField
                    + "') is over the bound " + max, versions(streamVersion));
        }
        return (int) (long) l;
    }

    // ---- JSON ----

    /** The JSON description (QEMU's vmdescription shape, extended with jhv's field kinds). */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vmsd_name", name);
        m.put("version", (long) version);
        m.put("minimum_version", (long) minimumVersion);
        var fl = new ArrayList<Object>();
        for (Field f : fields) {
            Map<String, Object> fm = new LinkedHashMap<>();
            fm.put("name", f.name());
            switch (f.kind()) {
                case Kind.Scalar s -> {
                    fm.put("type", s.type().jsonName());
                    fm.put("size", (long) s.type().size());
                }
                case Kind.Buffer b -> {
                    fm.put("type", "buffer");
                    fm.put("size", (long) b.size());
                }
                case Kind.VBuffer b -> {
                    fm.put("type", "vbuffer");
                    fm.put("length_field", b.lengthField());
                    fm.put("max", (long) b.max());
                }
                case Kind.Array a -> {
                    fm.put("type", "array");
                    fm.put("element", a.type().jsonName());
                    fm.put("length", (long) a.length());
                    fm.put("size", (long) a.type().size() * a.length());
                }
                case Kind.VarArray a -> {
                    fm.put("type", "varray");
                    fm.put("element", a.type().jsonName());
                    fm.put("length_field", a.lengthField());
                    fm.put("max", (long) a.max());
                }
                case Kind.Struct s -> {
                    fm.put("type", "struct");
                    fm.put("struct", s.schema().toJson());
                }
                case Kind.StructArray s -> {
                    fm.put("type", "struct_array");
                    fm.put("length", (long) s.length());
                    fm.put("struct", s.schema().toJson());
                }
                case Kind.StructVarArray s -> {
                    fm.put("type", "struct_varray");
                    fm.put("length_field", s.lengthField());
                    fm.put("max", (long) s.max());
                    fm.put("struct", s.schema().toJson());
                }
                case Kind.Unused u -> {
                    fm.put("type", "unused");
                    fm.put("size", (long) u.size());
                }
            }
            if (f.since() > 0) {
                fm.put("since", (long) f.since());
            }
            if (f.conditional()) {
                fm.put("conditional", true);
            }
            fl.add(fm);
        }
        m.put("fields", fl);
        if (!subsections.isEmpty()) {
            var sl = new ArrayList<Object>();
            for (VMStateSchema s : subsections) {
                sl.add(s.toJson());
            }
            m.put("subsections", sl);
        }
        return m;
    }

    /** Parses a JSON description (untrusted: from a stream) and validates it. */
    public static VMStateSchema fromJson(Object json) {
        return fromJson(json, 0);
    }

    private static VMStateSchema fromJson(Object json, int depth) {
        if (depth > 16) {
            throw new VMStateException("description nested deeper than 16");
        }
        Map<?, ?> m = map(json, "description");
        String name = str(m, "vmsd_name");
        int version = num(m, "version");
        int minVersion = m.containsKey("minimum_version") ? num(m, "minimum_version") : 0;
        var fields = new ArrayList<Field>();
        for (Object fo : list(m.get("fields"), "fields of '" + name + "'")) {
            Map<?, ?> fm = map(fo, "field of '" + name + "'");
            String fname = str(fm, "name");
            String type = str(fm, "type");
            Kind kind = switch (type) {
                case "buffer" -> new Kind.Buffer(num(fm, "size"));
                case "vbuffer" -> new Kind.VBuffer(str(fm, "length_field"), num(fm, "max"));
                case "array" -> new Kind.Array(scalarType(fm, "element"), num(fm, "length"));
                case "varray" -> new Kind.VarArray(scalarType(fm, "element"), str(fm, "length_field"),
                        num(fm, "max"));
                case "struct" -> new Kind.Struct(fromJson(fm.get("struct"), depth + 1));
                case "struct_array" -> new Kind.StructArray(fromJson(fm.get("struct"), depth + 1),
                        num(fm, "length"));
                case "struct_varray" -> new Kind.StructVarArray(fromJson(fm.get("struct"), depth + 1),
                        str(fm, "length_field"), num(fm, "max"));
                case "unused" -> new Kind.Unused(num(fm, "size"));
                default -> new Kind.Scalar(scalarType(fm, "type"));
            };
            int since = fm.containsKey("since") ? num(fm, "since") : 0;
            boolean conditional = Boolean.TRUE.equals(fm.get("conditional"));
            fields.add(new Field(fname, kind, since, conditional));
        }
        var subs = new ArrayList<VMStateSchema>();
        if (m.containsKey("subsections")) {
            for (Object so : list(m.get("subsections"), "subsections of '" + name + "'")) {
                subs.add(fromJson(so, depth + 1));
            }
        }
        var s = new VMStateSchema(name, version, minVersion, fields, subs);
        s.validate();
        return s;
    }

    private static ScalarType scalarType(Map<?, ?> m, String key) {
        String t = str(m, key);
        ScalarType st = ScalarType.fromJson(t);
        if (st == null) {
            throw new VMStateException("description: unknown field type '" + t + "'");
        }
        return st;
    }

    private static Map<?, ?> map(Object o, String what) {
        if (o instanceof Map<?, ?> m) {
            return m;
        }
        throw new VMStateException("description: " + what + " is not an object");
    }

    private static List<?> list(Object o, String what) {
        if (o instanceof List<?> l) {
            return l;
        }
        throw new VMStateException("description: " + what + " is not a list");
    }

    private static String str(Map<?, ?> m, String key) {
        if (m.get(key) instanceof String s) {
            return s;
        }
        throw new VMStateException("description: '" + key + "' is missing or not a string");
    }

    private static int num(Map<?, ?> m, String key) {
        if (m.get(key) instanceof Long l && l >= 0 && l <= Integer.MAX_VALUE) {
            return (int) (long) l;
        }
        throw new VMStateException("description: '" + key + "' is missing or not a number in 0.."
                + Integer.MAX_VALUE);
    }

    // ---- compatibility ----

    /**
     * What differs between the description a stream carries ({@code stream}, written at {@code streamVersion}) and
     * this one read at that version: missing fields, fields of another type or size, unknown fields. Empty when
     * this build can read the stream's data.
     */
    public List<String> differences(VMStateSchema stream, int streamVersion) {
        var out = new ArrayList<String>();
        compare(stream, streamVersion, name, out);
        return out;
    }

    private void compare(VMStateSchema stream, int streamVersion, String path, List<String> out) {
        if (!name.equals(stream.name())) {
            out.add(path + ": stream describes '" + stream.name() + "', this build '" + name + "'");
            return;
        }
        List<Field> mine = fields.stream().filter(f -> f.since() <= streamVersion).toList();
        List<Field> theirs = stream.fields().stream().filter(f -> f.since() <= streamVersion).toList();
        int n = Math.max(mine.size(), theirs.size());
        for (int i = 0; i < n; i++) {
            Field a = i < mine.size() ? mine.get(i) : null;
            Field b = i < theirs.size() ? theirs.get(i) : null;
            if (b == null) {
                out.add(path + "/" + a.name() + ": missing from the stream");
            } else if (a == null) {
                out.add(path + "/" + b.name() + ": in the stream but unknown to this build");
            } else if (!a.name().equals(b.name())) {
                out.add(path + "/" + a.name() + ": the stream has '" + b.name() + "' in its place");
            } else if (a.conditional() != b.conditional()) {
                out.add(path + "/" + a.name() + ": conditional in one build only");
            } else if (a.kind() instanceof Kind.Struct(VMStateSchema sa)
                    && b.kind() instanceof Kind.Struct(VMStateSchema sb)) {
                sa.compare(sb, sb.version(), path + "/" + a.name(), out);
            } else if (a.kind() instanceof Kind.StructArray(VMStateSchema sa, int la)
                    && b.kind() instanceof Kind.StructArray(VMStateSchema sb, int lb)) {
                if (la != lb) {
                    out.add(path + "/" + a.name() + ": stream has " + lb + " elements, expected " + la);
                }
                sa.compare(sb, sb.version(), path + "/" + a.name() + "[]", out);
            } else if (a.kind() instanceof Kind.StructVarArray(VMStateSchema sa, String fa, int ma)
                    && b.kind() instanceof Kind.StructVarArray(VMStateSchema sb, String fb, int mb)) {
                if (!fa.equals(fb) || mb > ma) {
                    out.add(path + "/" + a.name() + ": stream counts it by '" + fb + "' up to " + mb
                            + ", this build by '" + fa + "' up to " + ma);
                }
                sa.compare(sb, sb.version(), path + "/" + a.name() + "[]", out);
            } else if (!a.kind().equals(b.kind())) {
                out.add(path + "/" + a.name() + ": stream has " + describe(b.kind()) + ", expected "
                        + describe(a.kind()));
            }
        }
        for (VMStateSchema sb : stream.subsections()) {
            VMStateSchema sa = subsection(sb.name());
            if (sa != null && sb.version() <= sa.version() && sb.version() >= sa.minimumVersion()) {
                sa.compare(sb, sb.version(), subsectionPath(path, sa), out);
            }
        }
    }

    static String describe(Kind k) {
        return switch (k) {
            case Kind.Scalar s -> s.type().jsonName() + " (" + s.type().size() + " bytes)";
            case Kind.Buffer b -> "a " + b.size() + "-byte buffer";
            case Kind.VBuffer b -> "a buffer of '" + b.lengthField() + "' bytes up to " + b.max();
            case Kind.Array a -> a.length() + " " + a.type().jsonName();
            case Kind.VarArray a -> "'" + a.lengthField() + "' " + a.type().jsonName() + " up to " + a.max();
            case Kind.Struct s -> "struct " + s.schema().name();
            case Kind.StructArray s -> s.length() + " struct " + s.schema().name();
            case Kind.StructVarArray s -> "'" + s.lengthField() + "' struct " + s.schema().name();
            case Kind.Unused u -> u.size() + " unused bytes";
        };
    }
}
