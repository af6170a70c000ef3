package dev.jhv.core.vmstate;

/** The scalar kinds of the wire format: big-endian, two's complement for the signed ones. */
public enum ScalarType {
    U8("uint8", 1, false), U16("uint16", 2, false), U32("uint32", 4, false), U64("uint64", 8, false),
    S8("int8", 1, true), S16("int16", 2, true), S32("int32", 4, true), S64("int64", 8, true),
    BOOL("bool", 1, false);

    private final String jsonName;
    private final int size;
    private final boolean signed;

    ScalarType(String jsonName, int size, boolean signed) {
        this.jsonName = jsonName;
        this.size = size;
        this.signed = signed;
    }

    /** The name used in the JSON description. */
    public String jsonName() {
        return jsonName;
    }

    /** Bytes on the wire. */
    public int size() {
        return size;
    }

    public boolean signed() {
        return signed;
    }

    /** Whether the type's values fit in a Java int (the accessor kind for arrays and scalars). */
    public boolean fitsInt() {
        return size < 4 || this == U32 || this == S32;
    }

    /** The largest value the type holds, as an unsigned long for U64. */
    long maxValue() {
        return switch (this) {
            case U8 -> 0xff;
            case U16 -> 0xffff;
            case U32 -> 0xffff_ffffL;
            case U64 -> -1L;
            case S8 -> Byte.MAX_VALUE;
            case S16 -> Short.MAX_VALUE;
            case S32 -> Integer.MAX_VALUE;
            case S64 -> Long.MAX_VALUE;
            case BOOL -> 1;
        };
    }

    /** Normalises raw bits to this type's value range (unsigned zero-extended, signed sign-extended). */
    long normalise(long bits) {
        return switch (this) {
            case U8 -> bits & 0xff;
            case U16 -> bits & 0xffff;
            case U32 -> bits & 0xffff_ffffL;
            case S8 -> (byte) bits;
            case S16 -> (short) bits;
            case S32 -> (int) bits;
            case U64, S64 -> bits;
            case BOOL -> bits != 0 ? 1 : 0;
        };
    }

    static ScalarType fromJson(String name) {
        for (ScalarType t : values()) {
            if (t.jsonName.equals(name)) {
                return t;
            }
        }
        return null;
    }
}
