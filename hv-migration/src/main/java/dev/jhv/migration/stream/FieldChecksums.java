package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateValues;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * A CRC32C for each part of a device section's body, in stream order: every top-level field, every subsection,
 * the end marker. The writer puts them in the stream's JSON description; when a section's own checksum fails, the
 * reader recomputes them over the bytes it read and names the fields whose bytes changed.
 */
final class FieldChecksums {
    /** One part: its field path (or subsection path) and the CRC32C of its bytes. */
    record Part(String path, long crc32c) { }

    private FieldChecksums() { }

    /** The parts of {@code body}, the bytes that {@code values} were decoded from. */
    static List<Part> of(VMStateValues values, byte[] body) {
        var parts = new ArrayList<Part>();
        int at = 0;
        for (var e : values.sizes().entrySet()) {
            at = add(parts, values.name() + "/" + e.getKey(), body, at, e.getValue());
        }
        for (var e : values.subsections().entrySet()) {
            at = add(parts, values.name() + "/" + e.getKey(), body, at, e.getValue().size());
        }
        add(parts, values.name() + " (end marker)", body, at, body.length - at);
        return parts;
    }

    private static int add(List<Part> parts, String path, byte[] body, int at, long length) {
        int n = (int) Math.max(0, Math.min(length, body.length - at));
        var crc = new CRC32C();
        crc.update(body, at, n);
        parts.add(new Part(path, crc.getValue()));
        return at + n;
    }

    /** The paths whose bytes differ from what the writer recorded; empty if the two lists do not line up. */
    static List<String> changed(List<Part> recorded, List<Part> read) {
        var out = new ArrayList<String>();
        if (recorded.size() != read.size()) {
            return out;
        }
        for (int i = 0; i < read.size(); i++) {
            if (!recorded.get(i).path().equals(read.get(i).path())) {
                return List.of();
            }
            if (recorded.get(i).crc32c() != read.get(i).crc32c()) {
                out.add(read.get(i).path());
            }
        }
        return out;
    }

    /**
     * "; the bytes of field 'x' differ from what the source wrote" for the fields of {@code read} whose checksums
     * differ from {@code recorded}, or "" when none can be named (no record, or lists that do not line up).
     */
    static String changedClause(List<Part> recorded, List<Part> read) {
        List<String> changed = recorded == null ? List.of() : changed(recorded, read);
        if (changed.isEmpty()) {
            return "";
        }
        return "; the bytes of " + (changed.size() == 1 ? "field '" + changed.getFirst() + "'"
                : "fields '" + String.join("', '", changed) + "'") + " differ from what the source wrote";
    }

    static List<Object> toJson(List<Part> parts) {
        var l = new ArrayList<Object>();
        for (Part p : parts) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("field", p.path());
            m.put("crc32c", p.crc32c());
            l.add(m);
        }
        return l;
    }

    /** The parts from a description entry, or null if it has none (older writers) or they are malformed. */
    static List<Part> fromJson(Object json) {
        if (!(json instanceof List<?> l)) {
            return null;
        }
        var parts = new ArrayList<Part>();
        for (Object o : l) {
            if (!(o instanceof Map<?, ?> m) || !(m.get("field") instanceof String f)
                    || !(m.get("crc32c") instanceof Long c)) {
                return null;
            }
            parts.add(new Part(f, c));
        }
        return parts;
    }
}
