package dev.jhv.core.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds one ACPI table little-endian, then fixes its length and checksum in the standard 36-byte header. */
final class TableWriter {
    static final String OEM_ID = "JHV";
    static final String OEM_TABLE_ID = "JHVPC";
    static final String CREATOR_ID = "JHV";
    static final int HEADER_SIZE = 36;
    static final int LENGTH_OFFSET = 4;
    static final int CHECKSUM_OFFSET = 9;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A table with the standard description header (signature, revision, OEM fields). */
    static TableWriter withHeader(String signature, int revision) {
        var w = new TableWriter();
        w.ascii(signature, 4).u32(0).u8(revision).u8(0).ascii(OEM_ID, 6).ascii(OEM_TABLE_ID, 8)
                .u32(1).ascii(CREATOR_ID, 4).u32(1);
        return w;
    }

    TableWriter u8(int v) {
        out.write(v);
        return this;
    }

    TableWriter u16(int v) {
        return u8(v).u8(v >>> 8);
    }

    TableWriter u32(long v) {
        return u16((int) v).u16((int) (v >>> 16));
    }

    TableWriter u64(long v) {
        return u32(v).u32(v >>> 32);
    }

    TableWriter bytes(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    TableWriter zeros(int n) {
        return bytes(new byte[n]);
    }

    /** ASCII text padded with spaces to {@code len} bytes. */
    TableWriter ascii(String s, int len) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < len; i++) {
            out.write(i < b.length ? b[i] : ' ');
        }
        return this;
    }

    /** A Generic Address Structure (ACPI 6.x §5.2.3.2). */
    TableWriter gas(int spaceId, int bitWidth, int bitOffset, int accessSize, long address) {
        return u8(spaceId).u8(bitWidth).u8(bitOffset).u8(accessSize).u64(address);
    }

    int size() {
        return out.size();
    }

    /** The bytes with the length (if it has a header) and the header checksum filled in. */
    byte[] finish() {
        byte[] b = out.toByteArray();
        int len = b.length;
        b[LENGTH_OFFSET] = (byte) len;
        b[LENGTH_OFFSET + 1] = (byte) (len >>> 8);
        b[LENGTH_OFFSET + 2] = (byte) (len >>> 16);
        b[LENGTH_OFFSET + 3] = (byte) (len >>> 24);
        b[CHECKSUM_OFFSET] = 0;
        b[CHECKSUM_OFFSET] = checksum(b, 0, len);
        return b;
    }

    /** Raw bytes, no header processing. */
    byte[] raw() {
        return out.toByteArray();
    }

    /** The byte that makes {@code b[off, off+len)} sum to zero (with that byte at 0 when computed). */
    static byte checksum(byte[] b, int off, int len) {
        int sum = 0;
        for (int i = off; i < off + len; i++) {
            sum += b[i];
        }
        return (byte) -sum;
    }
}
