package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.Json;
import dev.jhv.core.vmstate.VMStateException;
import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateSchema;
import dev.jhv.core.vmstate.VMStateSchema.Field;
import dev.jhv.core.vmstate.VMStateSchema.Kind;
import dev.jhv.core.vmstate.VMStateValues;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code jhv-analyze-migration FILE [--json]}: prints every section, device, field and size of a stream, and the
 * RAM totals, reading the stream with nothing but its own JSON description (no device code).
 */
public final class Analyzer {
    private Analyzer() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** @return the exit status: 0 when the whole stream was read, 1 when it is damaged, 2 for bad usage */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Path file = null;
        boolean json = false;
        for (String a : args) {
            if (a.equals("--json")) {
                json = true;
            } else if (a.equals("-h") || a.equals("--help")) {
                out.println("usage: jhv-analyze-migration FILE [--json]");
                return 0;
            } else if (file == null && !a.startsWith("-")) {
                file = Path.of(a);
            } else {
                err.println("jhv-analyze-migration: unexpected argument '" + a + "'");
                return 2;
            }
        }
        if (file == null) {
            err.println("usage: jhv-analyze-migration FILE [--json]");
            return 2;
        }
        try {
            Map<String, Object> report = analyze(file);
            if (json) {
                out.println(Json.writePretty(report));
            } else {
                printText(report, out);
            }
            return 0;
        } catch (MigrationException | VMStateException e) {
            err.println("jhv-analyze-migration: " + file + ": " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("jhv-analyze-migration: " + file + ": " + e);
            return 1;
        }
    }

    private record SectionInfo(String name, int instanceId, int version, String kind, Object description) { }

    /** Reads the stream and returns the report (the --json form). */
    public static Map<String, Object> analyze(Path file) throws IOException {
        long fileSize = Files.size(file);
        String descText = readDescription(file, fileSize);
        Map<?, ?> desc;
        Map<Integer, SectionInfo> infos = new HashMap<>();
        var parsed = MigrationStreamReader.parseDescription(descText);
        Map<Integer, VMStateSchema> schemas = parsed.schemas();
        Map<Integer, List<FieldChecksums.Part>> recordedFields = parsed.fieldChecksums();
        try {
            desc = (Map<?, ?>) Json.parse(descText);
            for (Object o : (List<?>) desc.get("sections")) {
                Map<?, ?> s = (Map<?, ?>) o;
                int id = (int) (long) (Long) s.get("section_id");
                infos.put(id, new SectionInfo((String) s.get("name"), (int) (long) (Long) s.get("instance_id"),
                        (int) (long) (Long) s.get("version"), (String) s.get("kind"), s.get("description")));
            }
        } catch (ClassCastException | NullPointerException e) {
            throw new MigrationException("the stream's JSON description is not valid: " + e);
        }

        Map<String, Object> report = new LinkedHashMap<>();
        report.put("file", file.toString());
        report.put("bytes", fileSize);
        var sections = new ArrayList<Object>();
        Map<Integer, RamSectionReader> ram = new HashMap<>();
        try (InputStream is = Files.newInputStream(file)) {
            var in = new VMStateInput(is);
            long magic = in.u32("header");
            if (magic != StreamFormat.MAGIC) {
                throw new MigrationException(String.format("not a jhv migration stream (magic 0x%08x)", magic));
            }
            report.put("format_version", in.u32("header"));
            if (in.u8("header") != StreamFormat.CONFIGURATION) {
                throw new MigrationException("no configuration section at offset 8");
            }
            long len = in.u32("configuration");
            if (len > StreamFormat.MAX_CONFIGURATION) {
                throw new MigrationException("configuration of " + len + " bytes");
            }
            String config = new String(in.bytes("configuration", (int) len), StandardCharsets.UTF_8);
            report.put("configuration", MachineConfiguration.fromJson(config).toJson());
            while (true) {
                long at = in.offset();
                in.resetChecksum();
                int type = in.u8("section header");
                if (type == StreamFormat.EOF) {
                    break;
                }
                int id = in.s32("section header");
                SectionInfo info = infos.get(id);
                if (info == null) {
                    throw new MigrationException("section id " + id + " at offset " + at
                            + " is not in the description");
                }
                Map<String, Object> sm = new LinkedHashMap<>();
                sm.put("section_id", (long) id);
                sm.put("type", StreamFormat.typeName(type));
                sm.put("name", info.name());
                sm.put("instance_id", (long) info.instanceId());
                sm.put("version", (long) info.version());
                sm.put("offset", at);
                if (type == StreamFormat.SECTION_START || type == StreamFormat.SECTION_FULL) {
                    in.string8("section header");
                    in.s32("section header");
                    in.s32("section header");
                }
                in.context(info.name(), info.instanceId());
                VMStateValues deviceValues = null; // with the bytes they came from, to locate damage
                byte[] deviceBody = null;
                if (type == StreamFormat.SECTION_FULL) {
                    VMStateSchema schema = schemas.get(id);
                    if (schema == null) {
                        throw new MigrationException("section '" + info.name() + "' is FULL but not a device");
                    }
                    in.startCapture();
                    VMStateValues v = schema.decode(in, info.version());
                    deviceBody = in.endCapture();
                    deviceValues = v;
                    sm.put("kind", "device");
                    sm.put("fields", fields(schema, v));
                    sm.put("subsections", subsections(schema, v));
                } else if (type >= StreamFormat.SECTION_START && type <= StreamFormat.SECTION_END) {
                    if (!(info.description() instanceof Map<?, ?> d) || !"ram".equals(d.get("type"))) {
                        throw new MigrationException("section '" + info.name() + "' is iterative of a kind this "
                                + "tool cannot read");
                    }
                    RamSectionReader r = ram.computeIfAbsent(id, k -> new RamSectionReader(null));
                    long pagesBefore = r.stats().pages();
                    long zeroBefore = r.stats().zeroPages();
                    r.readBody(in, info.version());
                    sm.put("kind", "ram");
                    sm.put("pages", r.stats().pages() - pagesBefore);
                    sm.put("zero_pages", r.stats().zeroPages() - zeroBefore);
                } else {
                    throw new MigrationException("unknown section type " + StreamFormat.typeName(type)
                            + " at offset " + at);
                }
                int sum = in.checksum();
                int f = in.u8("section footer");
                if (f != StreamFormat.SECTION_FOOTER || in.s32("section footer") != id) {
                    throw new MigrationException("section '" + info.name() + "' at offset " + at
                            + " does not end with its footer");
                }
                if (in.s32("section footer") != sum) {
                    throw new MigrationException("section '" + info.name() + "' at offset " + at
                            + " is damaged (checksum mismatch)" + (deviceValues == null ? ""
                            : FieldChecksums.changedClause(recordedFields.get(id),
                                    FieldChecksums.of(deviceValues, deviceBody))));
                }
                in.context(null, -1);
                sm.put("size", in.offset() - at);
                sections.add(sm);
            }
            report.put("sections", sections);
            long pages = 0;
            long zero = 0;
            long bytes = 0;
            var blocks = new ArrayList<Object>();
            for (RamSectionReader r : ram.values()) {
                pages += r.stats().pages();
                zero += r.stats().zeroPages();
                bytes += r.stats().bytes();
                if (r.streamBlocks() != null) {
                    for (var b : r.streamBlocks()) {
                        Map<String, Object> bm = new LinkedHashMap<>();
                        bm.put("name", b.name());
                        bm.put("size", b.size());
                        blocks.add(bm);
                    }
                }
            }
            Map<String, Object> rm = new LinkedHashMap<>();
            rm.put("blocks", blocks);
            rm.put("pages", pages);
            rm.put("zero_pages", zero);
            rm.put("normal_pages", pages - zero);
            rm.put("bytes", bytes);
            report.put("ram", rm);
            report.put("description", desc);
        }
        return report;
    }

    private static String readDescription(Path file, long size) throws IOException {
        try (var raf = new RandomAccessFile(file.toFile(), "r")) {
            if (size < 24) {
                throw new MigrationException("only " + size + " bytes: not a complete stream");
            }
            raf.seek(size - 12);
            long len = raf.readInt() & 0xffff_ffffL;
            int stored = raf.readInt();
            int trailer = raf.readInt();
            if (trailer != StreamFormat.DESCRIPTION_TRAILER || len > StreamFormat.MAX_DESCRIPTION
                    || len > size - 12) {
                throw new MigrationException("no JSON description at the end of the file (truncated or damaged "
                        + "stream?)");
            }
            byte[] b = new byte[(int) len];
            raf.seek(size - 12 - len);
            raf.readFully(b);
            var crc = new java.util.zip.CRC32C();
            crc.update(b);
            if ((int) crc.getValue() != stored) {
                throw new MigrationException("the JSON description at the end of the file is damaged (checksum)");
            }
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    private static List<Object> fields(VMStateSchema schema, VMStateValues v) {
        var out = new ArrayList<Object>();
        for (Field f : schema.fields()) {
            Long size = v.sizes().get(f.name());
            if (size == null) {
                continue; // not in this version
            }
            Map<String, Object> fm = new LinkedHashMap<>();
            fm.put("name", f.name());
            fm.put("type", typeOf(f.kind()));
            fm.put("size", size);
            Object val = v.get(f.name());
            if (f.conditional() && val == null) {
                fm.put("present", false);
            }
            switch (f.kind()) {
                case Kind.Scalar s -> {
                    if (val != null) {
                        fm.put("value", val instanceof Long l && s.type() == dev.jhv.core.vmstate.ScalarType.U64
                                ? Long.toUnsignedString(l) : val);
                    }
                }
                case Kind.Buffer b -> {
                    if (val instanceof byte[] bytes && bytes.length <= 64) {
                        fm.put("value", java.util.HexFormat.of().formatHex(bytes));
                    }
                }
                case Kind.VBuffer b -> {
                    if (val instanceof byte[] bytes && bytes.length <= 64) {
                        fm.put("value", java.util.HexFormat.of().formatHex(bytes));
                    }
                }
                case Kind.Struct s -> {
                    if (val instanceof VMStateValues sv) {
                        fm.put("fields", fields(s.schema(), sv));
                        fm.put("subsections", subsections(s.schema(), sv));
                    }
                }
                case Kind.StructArray s -> fm.put("elements", elements(s.schema(), val));
                case Kind.StructVarArray s -> fm.put("elements", elements(s.schema(), val));
                default -> { }
            }
            out.add(fm);
        }
        return out;
    }

    private static List<Object> elements(VMStateSchema schema, Object val) {
        var out = new ArrayList<Object>();
        if (val instanceof List<?> l) {
            for (Object o : l) {
                var sv = (VMStateValues) o;
                Map<String, Object> em = new LinkedHashMap<>();
                em.put("size", sv.size());
                em.put("fields", fields(schema, sv));
                em.put("subsections", subsections(schema, sv));
                out.add(em);
            }
        }
        return out;
    }

    private static List<Object> subsections(VMStateSchema schema, VMStateValues v) {
        var out = new ArrayList<Object>();
        for (var e : v.subsections().entrySet()) {
            VMStateSchema sub = schema.subsection(e.getKey());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", e.getKey());
            m.put("version", (long) e.getValue().version());
            m.put("size", e.getValue().size());
            m.put("fields", fields(sub, e.getValue()));
            m.put("subsections", subsections(sub, e.getValue()));
            out.add(m);
        }
        return out;
    }

    private static String typeOf(Kind k) {
        return switch (k) {
            case Kind.Scalar s -> s.type().jsonName();
            case Kind.Buffer b -> "buffer";
            case Kind.VBuffer b -> "vbuffer";
            case Kind.Array a -> a.type().jsonName() + "[" + a.length() + "]";
            case Kind.VarArray a -> a.type().jsonName() + "[" + a.lengthField() + "]";
            case Kind.Struct s -> "struct " + s.schema().name();
            case Kind.StructArray s -> "struct " + s.schema().name() + "[" + s.length() + "]";
            case Kind.StructVarArray s -> "struct " + s.schema().name() + "[" + s.lengthField() + "]";
            case Kind.Unused u -> "unused";
        };
    }

    // ---- text form ----

    private static void printText(Map<String, Object> r, PrintStream out) {
        out.printf("jhv migration stream %s: format version %s, %s bytes%n", r.get("file"), r.get("format_version"),
                r.get("bytes"));
        Map<?, ?> c = (Map<?, ?>) r.get("configuration");
        out.printf("configuration: machine '%s', memory %s, %s vCPUs, CPU '%s', CPUID %s%n", c.get("machine_type"),
                size((Long) c.get("memory_size")), c.get("vcpus"), c.get("cpu_model"), c.get("cpuid_digest"));
        for (Object o : (List<?>) c.get("memory_layout")) {
            Map<?, ?> m = (Map<?, ?>) o;
            out.printf("  memory region %s at 0x%x, %s%n", m.get("name"), (Long) m.get("gpa"),
                    size((Long) m.get("size")));
        }
        out.println("  devices: " + String.join(", ", ((List<?>) c.get("devices")).stream().map(String::valueOf)
                .toList()));
        for (Object o : (List<?>) r.get("sections")) {
            Map<?, ?> s = (Map<?, ?>) o;
            out.printf("section %s %s '%s' instance %s version %s at offset %s: %s bytes%n", s.get("section_id"),
                    s.get("type"), s.get("name"), s.get("instance_id"), s.get("version"), s.get("offset"),
                    s.get("size"));
            if ("ram".equals(s.get("kind"))) {
                out.printf("  ram: %s pages (%s zero)%n", s.get("pages"), s.get("zero_pages"));
            } else {
                printFields((List<?>) s.get("fields"), String.valueOf(s.get("name")), "  ", out);
                printSubsections((List<?>) s.get("subsections"), String.valueOf(s.get("name")), "  ", out);
            }
        }
        Map<?, ?> ram = (Map<?, ?>) r.get("ram");
        var blocks = new ArrayList<String>();
        for (Object o : (List<?>) ram.get("blocks")) {
            Map<?, ?> b = (Map<?, ?>) o;
            blocks.add(b.get("name") + " " + size((Long) b.get("size")));
        }
        out.printf("RAM: blocks [%s]; %s pages: %s zero, %s normal; %s bytes in the stream%n",
                String.join(", ", blocks), ram.get("pages"), ram.get("zero_pages"), ram.get("normal_pages"),
                ram.get("bytes"));
    }

    private static void printFields(List<?> fields, String path, String indent, PrintStream out) {
        for (Object o : fields) {
            Map<?, ?> f = (Map<?, ?>) o;
            String p = path + "/" + f.get("name");
            String extra = f.containsKey("value") ? " = " + f.get("value")
                    : Boolean.FALSE.equals(f.get("present")) ? " (not sent)" : "";
            out.printf("%s%-40s %-24s %6s%s%n", indent, p, f.get("type"), f.get("size"), extra);
            if (f.get("fields") instanceof List<?> nested) {
                printFields(nested, p, indent + "  ", out);
                printSubsections((List<?>) f.get("subsections"), p, indent + "  ", out);
            }
            if (f.get("elements") instanceof List<?> el) {
                for (int i = 0; i < el.size(); i++) {
                    Map<?, ?> e = (Map<?, ?>) el.get(i);
                    printFields((List<?>) e.get("fields"), p + "[" + i + "]", indent + "  ", out);
                    printSubsections((List<?>) e.get("subsections"), p + "[" + i + "]", indent + "  ", out);
                }
            }
        }
    }

    private static void printSubsections(List<?> subs, String path, String indent, PrintStream out) {
        for (Object o : subs) {
            Map<?, ?> s = (Map<?, ?>) o;
            out.printf("%ssubsection '%s' version %s: %s bytes%n", indent, s.get("name"), s.get("version"),
                    s.get("size"));
            String name = String.valueOf(s.get("name"));
            String last = path.substring(path.lastIndexOf('/') + 1);
            // QEMU-style names "parent/sub" continue the parent's path
            String sub = name.startsWith(last + "/") ? path + name.substring(last.length()) : path + "/" + name;
            printFields((List<?>) s.get("fields"), sub, indent + "  ", out);
            printSubsections((List<?>) s.get("subsections"), sub, indent + "  ", out);
        }
    }

    private static String size(long bytes) {
        if (bytes % (1 << 20) == 0 && bytes > 0) {
            return (bytes >> 20) + " MiB";
        }
        return bytes + " bytes";
    }
}
