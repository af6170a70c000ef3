package dev.jhv.core.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A small encoder for the ACPI Machine Language terms a DSDT needs (ACPI 6.x §20): name strings, integers,
 * strings, packages, buffers, Name/Scope/Device, package lengths, EISA ids and the few resource descriptors
 * of a legacy device's _CRS.
 */
public final class Aml {
    private Aml() { }

    static final int ZERO_OP = 0x00;
    static final int ONE_OP = 0x01;
    static final int NAME_OP = 0x08;
    static final int BYTE_PREFIX = 0x0A;
    static final int WORD_PREFIX = 0x0B;
    static final int DWORD_PREFIX = 0x0C;
    static final int STRING_PREFIX = 0x0D;
    static final int QWORD_PREFIX = 0x0E;
    static final int SCOPE_OP = 0x10;
    static final int BUFFER_OP = 0x11;
    static final int PACKAGE_OP = 0x12;
    static final int EXT_OP_PREFIX = 0x5B;
    static final int DEVICE_OP = 0x82;
    static final int ROOT_CHAR = 0x5C;
    static final int PARENT_PREFIX = 0x5E;
    static final int DUAL_NAME_PREFIX = 0x2E;
    static final int MULTI_NAME_PREFIX = 0x2F;

    /**
     * A PkgLength for {@code bodyLength} following bytes; the encoded value counts its own bytes too.
     * One byte up to 63, then 2, 3 or 4 bytes with the low nibble in the lead byte.
     */
    public static byte[] pkgLength(int bodyLength) {
        if (bodyLength < 0) {
            throw new IllegalArgumentException("negative length");
        }
        if (bodyLength + 1 <= 0x3F) {
            return new byte[] {(byte) (bodyLength + 1)};
        }
        for (int extra = 1; extra <= 3; extra++) {
            long total = bodyLength + 1L + extra;
            if (total < (1L << (4 + 8 * extra))) {
                byte[] out = new byte[extra + 1];
                out[0] = (byte) ((extra << 6) | (total & 0xF));
                for (int i = 1; i <= extra; i++) {
                    out[i] = (byte) (total >>> (4 + 8 * (i - 1)));
                }
                return out;
            }
        }
        throw new IllegalArgumentException("AML package too long: " + bodyLength);
    }

    /** A 4-character name segment; shorter names are padded with '_'. */
    public static byte[] nameSeg(String seg) {
        if (seg.isEmpty() || seg.length() > 4) {
            throw new IllegalArgumentException("bad AML name segment '" + seg + "'");
        }
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            char c = i < seg.length() ? seg.charAt(i) : '_';
            boolean ok = c == '_' || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
            if (!ok) {
                throw new IllegalArgumentException("bad AML name segment '" + seg + "'");
            }
            out[i] = (byte) c;
        }
        return out;
    }

    /** A name string: optional '\' or '^' prefixes, then dot-separated segments ("\_SB.COM1"). */
    public static byte[] nameString(String path) {
        var out = new ByteArrayOutputStream();
        int i = 0;
        if (path.startsWith("\\")) {
            out.write(ROOT_CHAR);
            i = 1;
        } else {
            while (i < path.length() && path.charAt(i) == '^') {
                out.write(PARENT_PREFIX);
                i++;
            }
        }
        String rest = path.substring(i);
        if (rest.isEmpty()) {
            out.write(0); // NullName
            return out.toByteArray();
        }
        String[] segs = rest.split("\\.");
        if (segs.length == 2) {
            out.write(DUAL_NAME_PREFIX);
        } else if (segs.length > 2) {
            out.write(MULTI_NAME_PREFIX);
            out.write(segs.length);
        }
        for (String s : segs) {
            out.writeBytes(nameSeg(s));
        }
        return out.toByteArray();
    }

    /** An integer in its shortest encoding (ZeroOp, OneOp, Byte/Word/DWord/QWord constants). */
    public static byte[] integer(long v) {
        if (v == 0) {
            return new byte[] {ZERO_OP};
        }
        if (v == 1) {
            return new byte[] {ONE_OP};
        }
        if (v > 0 && v <= 0xFF) {
            return new byte[] {BYTE_PREFIX, (byte) v};
        }
        if (v > 0 && v <= 0xFFFF) {
            return new byte[] {WORD_PREFIX, (byte) v, (byte) (v >>> 8)};
        }
        if (v > 0 && v <= 0xFFFF_FFFFL) {
            return dword(v);
        }
        byte[] out = new byte[9];
        out[0] = QWORD_PREFIX;
        for (int i = 0; i < 8; i++) {
            out[1 + i] = (byte) (v >>> (8 * i));
        }
        return out;
    }

    /** A DWordConst, whatever the value's size (as EisaId is always encoded). */
    public static byte[] dword(long v) {
        return new byte[] {DWORD_PREFIX, (byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    /** A String constant (ASCII, NUL-terminated). */
    public static byte[] string(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[b.length + 2];
        out[0] = STRING_PREFIX;
        System.arraycopy(b, 0, out, 1, b.length);
        return out;
    }

    /**
     * The compressed EISA id of a PNP id such as "PNP0501": three letters of 5 bits and four hex digits,
     * stored big-endian in a DWord.
     */
    public static byte[] eisaId(String id) {
        if (id.length() != 7) {
            throw new IllegalArgumentException("EISA id must be 3 letters and 4 hex digits: " + id);
        }
        int v = 0;
        for (int i = 0; i < 3; i++) {
            char c = id.charAt(i);
            if (c < 'A' || c > 'Z') {
                throw new IllegalArgumentException("bad EISA id " + id);
            }
            v = (v << 5) | (c - 0x40);
        }
        v = (v << 16) | Integer.parseInt(id.substring(3), 16);
        return dword(Integer.reverseBytes(v) & 0xFFFF_FFFFL);
    }

    /** Name(path, object). */
    public static byte[] name(String path, byte[] object) {
        return concat(new byte[] {NAME_OP}, nameString(path), object);
    }

    /** Scope(path) { terms }. */
    public static byte[] scope(String path, byte[]... terms) {
        byte[] body = concat(nameString(path), concat(terms));
        return concat(new byte[] {SCOPE_OP}, pkgLength(body.length), body);
    }

    /** Device(path) { terms }. */
    public static byte[] device(String path, byte[]... terms) {
        byte[] body = concat(nameString(path), concat(terms));
        return concat(new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP}, pkgLength(body.length), body);
    }

    /** Package(n) { elements } with n = the number of elements (at most 255). */
    public static byte[] pkg(byte[]... elements) {
        if (elements.length > 255) {
            throw new IllegalArgumentException("package too large");
        }
        byte[] body = concat(new byte[] {(byte) elements.length}, concat(elements));
        return concat(new byte[] {PACKAGE_OP}, pkgLength(body.length), body);
    }

    /** Buffer(len) { data }. */
    public static byte[] buffer(byte[] data) {
        byte[] body = concat(integer(data.length), data);
        return concat(new byte[] {BUFFER_OP}, pkgLength(body.length), body);
    }

    /** ResourceTemplate() { descriptors }: a buffer ending with an End Tag (checksum 0: "treat as valid"). */
    public static byte[] resourceTemplate(byte[]... descriptors) {
        return buffer(concat(concat(descriptors), new byte[] {0x79, 0x00}));
    }

    /** IO(Decode16, min, max, alignment, length): small I/O port descriptor. */
    public static byte[] io(int min, int max, int alignment, int length) {
        return new byte[] {0x47, 0x01, (byte) min, (byte) (min >>> 8), (byte) max, (byte) (max >>> 8),
                (byte) alignment, (byte) length};
    }

    /** IRQNoFlags() { irqs }: edge-triggered, active-high, exclusive ISA IRQs. */
    public static byte[] irqNoFlags(int... irqs) {
        int mask = 0;
        for (int irq : irqs) {
            if (irq < 0 || irq > 15) {
                throw new IllegalArgumentException("ISA IRQ out of range: " + irq);
            }
            mask |= 1 << irq;
        }
        return new byte[] {0x22, (byte) mask, (byte) (mask >>> 8)};
    }

    public static byte[] concat(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
