package dev.jhv.core.smbios;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One SMBIOS structure (DSP0134 §6.1.2): the formatted area (type, length, handle, fields, little-endian), then the
 * string set. A string field holds the string's 1-based number in the set, or 0 for none (an empty string is none).
 */
final class StructureWriter {
    private final ByteArrayOutputStream formatted = new ByteArrayOutputStream();
    private final List<String> strings = new ArrayList<>();

    StructureWriter(int type, int handle) {
        u8(type).u8(0).u16(handle);
    }

    StructureWriter u8(int v) {
        formatted.write(v);
        return this;
    }

    StructureWriter u16(int v) {
        return u8(v).u8(v >>> 8);
    }

    StructureWriter u32(long v) {
        return u16((int) v).u16((int) (v >>> 16));
    }

    StructureWriter u64(long v) {
        return u32(v).u32(v >>> 32);
    }

    StructureWriter zeros(int n) {
        formatted.writeBytes(new byte[n]);
        return this;
    }

    StructureWriter string(String s) {
        if (s == null || s.isEmpty()) {
            return u8(0);
        }
        strings.add(s);
        return u8(strings.size());
    }

    /** The whole structure: length patched, strings each NUL-terminated, the set ended by one more NUL. */
    byte[] build() {
        byte[] f = formatted.toByteArray();
        if (f.length > 255) {
            throw new IllegalStateException("SMBIOS structure type " + f[0] + " formatted area over 255 bytes");
        }
        f[1] = (byte) f.length;
        var out = new ByteArrayOutputStream();
        out.writeBytes(f);
        for (String s : strings) {
            out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
            out.write(0);
        }
        if (strings.isEmpty()) {
            out.write(0);
        }
        out.write(0);
        return out.toByteArray();
    }
}
