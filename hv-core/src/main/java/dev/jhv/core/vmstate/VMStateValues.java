package dev.jhv.core.vmstate;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The values of one description as read from a stream, before they touch any device: scalars as {@code Long}
 * (unsigned types zero-extended, U64 as raw bits), bool as {@code Boolean}, buffers as {@code byte[]}, scalar
 * arrays as {@code long[]}, nested descriptions as {@code VMStateValues}, arrays of them as
 * {@code List<VMStateValues>}. Conditional fields the writer left out and unused padding have no value.
 */
public final class VMStateValues {
    private final String name;
    private final int version;
    private final Map<String, Object> fields = new LinkedHashMap<>();
    private final Map<String, Long> sizes = new LinkedHashMap<>();
    private final Map<String, VMStateValues> subsections = new LinkedHashMap<>();
    private long size;

    VMStateValues(String name, int version) {
        this.name = name;
        this.version = version;
    }

    /** The description's name. */
    public String name() {
        return name;
    }

    /** The version the values were written at. */
    public int version() {
        return version;
    }

    /** Field name to value, in stream order. */
    public Map<String, Object> fields() {
        return Collections.unmodifiableMap(fields);
    }

    /** Field name to bytes it took in the stream (including a presence byte), for every field read. */
    public Map<String, Long> sizes() {
        return Collections.unmodifiableMap(sizes);
    }

    /** Subsection name to its values, in stream order. */
    public Map<String, VMStateValues> subsections() {
        return Collections.unmodifiableMap(subsections);
    }

    /**
     * Bytes the whole description took in the stream, subsections included; for a subsection, its marker, name
     * and version too.
     */
    public long size() {
        return size;
    }

    /** A copy with one field's value replaced (tests compare values with a running clock taken out). */
    public VMStateValues with(String field, Object value) {
        var v = new VMStateValues(name, version);
        v.fields.putAll(fields);
        v.fields.put(field, value);
        v.sizes.putAll(sizes);
        v.subsections.putAll(subsections);
        v.size = size;
        return v;
    }

    public Object get(String field) {
        return fields.get(field);
    }

    void put(String field, Object value) {
        fields.put(field, value);
    }

    void size(String field, long bytes) {
        sizes.put(field, bytes);
    }

    void subsection(String sub, VMStateValues v) {
        subsections.put(sub, v);
    }

    void totalSize(long bytes) {
        size = bytes;
    }

    boolean has(String field) {
        return fields.containsKey(field);
    }
}
