package dev.jhv.core.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A small encoder for the ACPI Machine Language terms a DSDT needs (ACPI 6.x §20): name strings, integers,
 * strings, packages, buffers, Name/Scope/Device/Method, package lengths, EISA ids, operation regions and
 * fields, the few statements and expressions a PCI interrupt link's methods use, and the resource
 * descriptors (ACPI 6.x §6.4) of a legacy device's and a PCI host bridge's _CRS.
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
    static final int METHOD_OP = 0x14;
    static final int LOCAL0_OP = 0x60;
    static final int ARG0_OP = 0x68;
    static final int STORE_OP = 0x70;
    static final int AND_OP = 0x7B;
    static final int OR_OP = 0x7D;
    static final int CREATE_DWORD_FIELD_OP = 0x8A;
    static final int LEQUAL_OP = 0x93;
    static final int LLESS_OP = 0x95;
    static final int IF_OP = 0xA0;
    static final int ELSE_OP = 0xA1;
    static final int RETURN_OP = 0xA4;
    static final int OP_REGION_OP = 0x80; // after EXT_OP_PREFIX
    static final int FIELD_OP = 0x81;     // after EXT_OP_PREFIX
    static final int NULL_NAME = 0x00;
    /** The most a 4-byte PkgLength holds: 28 bits. */
    static final int MAX_LENGTH = 0x0FFF_FFFF;
    // Resource descriptor tags (ACPI 6.x §6.4): small IRQ 0x22/IO 0x47/End 0x79, large 0x87-0x8A.
    static final int DWORD_ADDRESS = 0x87;
    static final int WORD_ADDRESS = 0x88;
    static final int EXTENDED_INTERRUPT = 0x89;
    static final int QWORD_ADDRESS = 0x8A;
    static final int RESOURCE_MEMORY = 0;
    static final int RESOURCE_IO = 1;
    static final int RESOURCE_BUS_NUMBER = 2;

    /**
     * A PkgLength for {@code bodyLength} following bytes; the encoded value counts its own bytes too.
     * One byte up to 63, then 2, 3 or 4 bytes with the low nibble in the lead byte.
     */
    public static byte[] pkgLength(int bodyLength) {
        if (bodyLength < 0) {
            throw new IllegalArgumentException("negative length");
        }
        for (int n = 1; n <= 4; n++) {
            long total = bodyLength + (long) n;
            if (total <= MAX_LENGTH && fieldLength((int) total).length == n) {
                return fieldLength((int) total);
            }
        }
        throw new IllegalArgumentException("AML package too long: " + bodyLength);
    }

    /**
     * The raw PkgLength-style encoding of {@code value} itself, not counting its own bytes: how a field
     * unit's width in bits is written in a FieldList (§20.2.5.2 NamedField, ReservedField).
     */
    static byte[] fieldLength(int value) {
        if (value < 0 || value > MAX_LENGTH) {
            throw new IllegalArgumentException("bad field length " + value);
        }
        if (value <= 0x3F) {
            return new byte[] {(byte) value};
        }
        int extra = value < (1 << 12) ? 1 : value < (1 << 20) ? 2 : 3;
        byte[] out = new byte[extra + 1];
        out[0] = (byte) ((extra << 6) | (value & 0xF));
        for (int i = 1; i <= extra; i++) {
            out[i] = (byte) (value >>> (4 + 8 * (i - 1)));
        }
        return out;
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

    // ---- Named objects and methods (§20.2.5.2) ----

    /** Method(name, argCount, Serialized|NotSerialized) { terms }, sync level 0. */
    static byte[] method(String name, int argCount, boolean serialized, byte[]... terms) {
        if (argCount < 0 || argCount > 7) {
            throw new IllegalArgumentException("a method takes 0 to 7 arguments: " + argCount);
        }
        int flags = argCount | (serialized ? 1 << 3 : 0);
        byte[] body = concat(nameString(name), new byte[] {(byte) flags}, concat(terms));
        return concat(new byte[] {METHOD_OP}, pkgLength(body.length), body);
    }

    /** The address space an OperationRegion lives in (§19.6.100 RegionSpace keywords, §20.2.5.2). */
    enum RegionSpace {
        SYSTEM_MEMORY(0), SYSTEM_IO(1), PCI_CONFIG(2);

        final int code;

        RegionSpace(int code) {
            this.code = code;
        }
    }

    /** OperationRegion(name, space, offset, length). */
    static byte[] operationRegion(String name, RegionSpace space, long offset, long length) {
        return concat(new byte[] {EXT_OP_PREFIX, (byte) OP_REGION_OP}, nameString(name),
                new byte[] {(byte) space.code}, integer(offset), integer(length));
    }

    /** FieldFlags bits 0-3: how the region is accessed. */
    enum AccessType {
        ANY(0), BYTE(1), WORD(2), DWORD(3), QWORD(4), BUFFER(5);

        final int code;

        AccessType(int code) {
            this.code = code;
        }
    }

    /** FieldFlags bits 5-6: what a write does to the bits of the access outside the field. */
    enum UpdateRule {
        PRESERVE(0), WRITE_AS_ONES(1), WRITE_AS_ZEROS(2);

        final int code;

        UpdateRule(int code) {
            this.code = code;
        }
    }

    /** One entry of a FieldList: a named unit of some bits, or bits skipped. */
    sealed interface FieldUnit {
        int bits();

        record Named(String name, int bits) implements FieldUnit { }

        record Reserved(int bits) implements FieldUnit { }
    }

    /** Field(region, access, NoLock, update) { units }: the units are laid out one after the other from bit 0. */
    static byte[] field(String region, AccessType access, UpdateRule update, FieldUnit... units) {
        var list = new ByteArrayOutputStream();
        for (FieldUnit u : units) {
            switch (u) {
                case FieldUnit.Named n -> {
                    list.writeBytes(nameSeg(n.name()));
                    list.writeBytes(fieldLength(n.bits()));
                }
                case FieldUnit.Reserved r -> {
                    list.write(0x00);
                    list.writeBytes(fieldLength(r.bits()));
                }
            }
        }
        int flags = access.code | update.code << 5; // bit 4 clear: NoLock
        byte[] body = concat(nameString(region), new byte[] {(byte) flags}, list.toByteArray());
        return concat(new byte[] {EXT_OP_PREFIX, (byte) FIELD_OP}, pkgLength(body.length), body);
    }

    /** CreateDWordField(buffer, byteIndex, name). */
    static byte[] createDWordField(byte[] buffer, int byteIndex, String name) {
        return concat(new byte[] {(byte) CREATE_DWORD_FIELD_OP}, buffer, integer(byteIndex), nameString(name));
    }

    // ---- Statements and expressions (§20.2.5.3, §20.2.5.4, §20.2.6) ----

    /** LocalN, N in 0-7. */
    static byte[] local(int n) {
        if (n < 0 || n > 7) {
            throw new IllegalArgumentException("Local" + n);
        }
        return new byte[] {(byte) (LOCAL0_OP + n)};
    }

    /** ArgN, N in 0-6. */
    static byte[] arg(int n) {
        if (n < 0 || n > 6) {
            throw new IllegalArgumentException("Arg" + n);
        }
        return new byte[] {(byte) (ARG0_OP + n)};
    }

    /** Store(source, destination). */
    static byte[] store(byte[] source, byte[] destination) {
        return concat(new byte[] {STORE_OP}, source, destination);
    }

    /** And(a, b): the value alone, no target (NullName). */
    static byte[] and(byte[] a, byte[] b) {
        return and(a, b, new byte[] {NULL_NAME});
    }

    /** And(a, b, target). */
    static byte[] and(byte[] a, byte[] b, byte[] target) {
        return concat(new byte[] {AND_OP}, a, b, target);
    }

    /** Or(a, b, target). */
    static byte[] or(byte[] a, byte[] b, byte[] target) {
        return concat(new byte[] {OR_OP}, a, b, target);
    }

    /** LEqual(a, b). */
    static byte[] lEqual(byte[] a, byte[] b) {
        return concat(new byte[] {(byte) LEQUAL_OP}, a, b);
    }

    /** LLess(a, b). */
    static byte[] lLess(byte[] a, byte[] b) {
        return concat(new byte[] {(byte) LLESS_OP}, a, b);
    }

    /** If(predicate) { terms }; an {@link #elseThen} right after it is its Else. */
    static byte[] ifThen(byte[] predicate, byte[]... terms) {
        byte[] body = concat(predicate, concat(terms));
        return concat(new byte[] {(byte) IF_OP}, pkgLength(body.length), body);
    }

    /** Else { terms }: only valid right after an If. */
    static byte[] elseThen(byte[]... terms) {
        byte[] body = concat(terms);
        return concat(new byte[] {(byte) ELSE_OP}, pkgLength(body.length), body);
    }

    /** Return(value). */
    static byte[] ret(byte[] value) {
        return concat(new byte[] {(byte) RETURN_OP}, value);
    }

    // ---- Resource descriptors (§6.4) ----

    /** _HE, Interrupt Mode. */
    enum Trigger { LEVEL, EDGE }

    /** _LL, Interrupt Polarity. */
    enum Polarity { ACTIVE_HIGH, ACTIVE_LOW }

    /** _SHR, Interrupt Sharing. */
    enum Sharing { EXCLUSIVE, SHARED }

    /** _MEM, the memory attributes of an address space descriptor. */
    enum Cacheability {
        NON_CACHEABLE(0), CACHEABLE(1), WRITE_COMBINING(2), PREFETCHABLE(3);

        final int code;

        Cacheability(int code) {
            this.code = code;
        }
    }

    /**
     * Interrupt(ResourceConsumer, trigger, polarity, sharing) { irqs }: the Extended Interrupt Descriptor
     * (§6.4.3.6), tag 0x89, length 2 + 4n, flags, count, then one DWord per interrupt.
     */
    static byte[] interrupt(Trigger trigger, Polarity polarity, Sharing sharing, long... irqs) {
        if (irqs.length < 1 || irqs.length > 255) {
            throw new IllegalArgumentException("an interrupt descriptor lists 1 to 255 interrupts");
        }
        int flags = 1 // consumer
                | (trigger == Trigger.EDGE ? 1 << 1 : 0)
                | (polarity == Polarity.ACTIVE_LOW ? 1 << 2 : 0)
                | (sharing == Sharing.SHARED ? 1 << 3 : 0);
        int len = 2 + 4 * irqs.length;
        var out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) EXTENDED_INTERRUPT, (byte) len, (byte) (len >>> 8), (byte) flags,
                (byte) irqs.length});
        for (long irq : irqs) {
            out.writeBytes(le(irq, 4));
        }
        return out.toByteArray();
    }

    /** WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, max - min + 1). */
    static byte[] wordBusNumber(int min, int max) {
        return addressSpace(WORD_ADDRESS, 2, RESOURCE_BUS_NUMBER, 0, min, max);
    }

    /** DWordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, length). */
    static byte[] dwordIo(long min, long max) {
        return addressSpace(DWORD_ADDRESS, 4, RESOURCE_IO, 3, min, max); // _RNG 3: ISA and non-ISA ports
    }

    /** DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, cacheability, ReadWrite, 0, min, max, 0, len). */
    static byte[] dwordMemory(Cacheability cacheability, long min, long max) {
        return addressSpace(DWORD_ADDRESS, 4, RESOURCE_MEMORY, cacheability.code << 1 | 1, min, max);
    }

    /** QWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, cacheability, ReadWrite, 0, min, max, 0, len). */
    static byte[] qwordMemory(Cacheability cacheability, long min, long max) {
        return addressSpace(QWORD_ADDRESS, 8, RESOURCE_MEMORY, cacheability.code << 1 | 1, min, max);
    }

    /**
     * A Word/DWord/QWord Address Space Descriptor (§6.4.3.5.1-3) that a bridge produces: tag, length, resource
     * type, general flags (MaxFixed | MinFixed, positive decode, producer), type-specific flags, then
     * granularity 0, min, max, translation offset 0 and length, each {@code width} bytes.
     */
    private static byte[] addressSpace(int tag, int width, int resourceType, int typeFlags, long min, long max) {
        if (Long.compareUnsigned(min, max) > 0 || (width < 8 && (max >>> (8 * width)) != 0)) {
            throw new IllegalArgumentException(String.format("bad range 0x%X-0x%X", min, max));
        }
        int len = 3 + 5 * width;
        return concat(new byte[] {(byte) tag, (byte) len, (byte) (len >>> 8), (byte) resourceType, 0x0C,
                (byte) typeFlags}, le(0, width), le(min, width), le(max, width), le(0, width),
                le(max - min + 1, width));
    }

    private static byte[] le(long v, int width) {
        byte[] out = new byte[width];
        for (int i = 0; i < width; i++) {
            out[i] = (byte) (v >>> (8 * i));
        }
        return out;
    }

    public static byte[] concat(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
