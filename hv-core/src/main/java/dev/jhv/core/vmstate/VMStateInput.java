package dev.jhv.core.vmstate;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * A big-endian reader over an untrusted byte stream that knows its offset and which section it is in, so every error
 * names where it happened. Reads never allocate more than the caller's (bounded) length. It reads ahead of what
 * it has consumed, so the underlying stream must not be read by anyone else; the running CRC32C
 * ({@link #resetChecksum}, {@link #checksum}) covers what was consumed.
 */
public final class VMStateInput {
    private static final int BUFFER = 1 << 16;
    private static final VarHandle BIG_ENDIAN_LONG =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private final InputStream in;
    /** Read-ahead: bytes [pos, limit) are read from {@code in} but not yet consumed. */
    private final byte[] buf;
    private int pos;
    private int limit;
    private long offset;
    private String section;
    private int instanceId = -1;
    /** CRC32C of the bytes consumed since {@link #resetChecksum}; buf[crcFrom, pos) is not yet added. */
    private final CRC32C crc = new CRC32C();
    private int crcFrom;
    /** While capturing ({@link #startCapture}): the bytes consumed so far; buf[captureFrom, pos) not yet added. */
    private java.io.ByteArrayOutputStream capture;
    private int captureFrom;

    public VMStateInput(InputStream in) {
        this(in, 0);
    }

    /** @param baseOffset the stream offset of the first byte {@code in} yields (for messages) */
    public VMStateInput(InputStream in, long baseOffset) {
        this.in = in;
        this.buf = new byte[BUFFER];
        this.offset = baseOffset;
    }

    public VMStateInput(byte[] data) {
        this.in = InputStream.nullInputStream();
        this.buf = data;
        this.limit = data.length;
    }

    /** The stream offset of the next byte. */
    public long offset() {
        return offset;
    }

    /** Starts a new checksum at the next byte. */
    public void resetChecksum() {
        crc.reset();
        crcFrom = pos;
    }

    /** The CRC32C of the bytes consumed since {@link #resetChecksum()}. */
    public int checksum() {
        crc.update(buf, crcFrom, pos - crcFrom);
        crcFrom = pos;
        return (int) crc.getValue();
    }

    /**
     * Starts keeping a copy of every byte consumed from here on, up to {@link #endCapture} (for small parts of a
     * stream, such as a device section whose damage must be located afterwards).
     */
    public void startCapture() {
        capture = new java.io.ByteArrayOutputStream();
        captureFrom = pos;
    }

    /** The bytes consumed since {@link #startCapture}; capturing stops. */
    public byte[] endCapture() {
        if (capture == null) {
            throw new IllegalStateException("not capturing");
        }
        capture.write(buf, captureFrom, pos - captureFrom);
        byte[] b = capture.toByteArray();
        capture = null;
        return b;
    }

    /** Makes at least one byte available; false at the end of the stream. */
    private boolean fill(String path) {
        if (pos < limit) {
            return true;
        }
        crc.update(buf, crcFrom, pos - crcFrom);
        if (capture != null) {
            capture.write(buf, captureFrom, pos - captureFrom);
            captureFrom = 0;
        }
        pos = 0;
        limit = 0;
        crcFrom = 0;
        int r;
        try {
            r = in.read(buf, 0, buf.length);
        } catch (IOException e) {
            throw new VMStateException(section, instanceId, path, offset, "read error: " + e.getMessage(), null, e);
        }
        if (r <= 0) {
            return false;
        }
        limit = r;
        return true;
    }

    /** Sets the section and instance named by errors from here on (null, -1 to clear). */
    public void context(String section, int instanceId) {
        this.section = section;
        this.instanceId = instanceId;
    }

    public String section() {
        return section;
    }

    public int instanceId() {
        return instanceId;
    }

    /** An error at the current offset, in the current section. */
    public VMStateException error(String fieldPath, String reason) {
        return error(fieldPath, reason, null);
    }

    public VMStateException error(String fieldPath, String reason, String versions) {
        return new VMStateException(section, instanceId, fieldPath, offset, reason, versions, null);
    }

    private int next(String path, int need, int have) {
        if (pos >= limit && !fill(path)) {
            throw error(path, "stream ends after " + have + " of " + need + " bytes");
        }
        offset++;
        return buf[pos++] & 0xff;
    }

    public int u8(String path) {
        return next(path, 1, 0);
    }

    public int u16(String path) {
        return (next(path, 2, 0) << 8) | next(path, 2, 1);
    }

    public long u32(String path) {
        long v = 0;
        for (int i = 0; i < 4; i++) {
            v = (v << 8) | next(path, 4, i);
        }
        return v;
    }

    public int s32(String path) {
        return (int) u32(path);
    }

    public long u64(String path) {
        if (limit - pos >= 8) {
            long v = (long) BIG_ENDIAN_LONG.get(buf, pos);
            pos += 8;
            offset += 8;
            return v;
        }
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | next(path, 8, i);
        }
        return v;
    }

    /** Reads {@code size} bytes big-endian as raw bits. */
    public long bits(String path, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            v = (v << 8) | next(path, size, i);
        }
        return v;
    }

    /**
     * Reads exactly {@code n} bytes; the caller has bounded n. The array grows as bytes arrive, so a short stream
     * claiming a large length costs no large allocation.
     */
    public byte[] bytes(String path, int n) {
        if (n <= 65536) {
            byte[] b = new byte[n];
            readFully(path, b, 0, n);
            return b;
        }
        byte[] b = new byte[65536];
        int done = 0;
        while (done < n) {
            if (done == b.length) {
                b = java.util.Arrays.copyOf(b, (int) Math.min(n, 2L * b.length));
            }
            int c = Math.min(b.length - done, n - done);
            readFully(path, b, done, c);
            done += c;
        }
        return b;
    }

    public void readFully(String path, byte[] b, int off, int n) {
        readFully(path, MemorySegment.ofArray(b), off, n);
    }

    /** Reads exactly {@code n} bytes into {@code dst} at {@code dstOffset} (guest RAM: one copy, no staging). */
    public void readFully(String path, MemorySegment dst, long dstOffset, int n) {
        int done = 0;
        while (done < n) {
            if (pos >= limit && !fill(path)) {
                throw error(path, "stream ends after " + done + " of " + n + " bytes");
            }
            int c = Math.min(limit - pos, n - done);
            MemorySegment.copy(buf, pos, dst, ValueLayout.JAVA_BYTE, dstOffset + done, c);
            pos += c;
            offset += c;
            done += c;
        }
    }

    /** Skips n bytes (they must be there). */
    public void skip(String path, long n) {
        byte[] buf = new byte[(int) Math.min(n, 8192)];
        long left = n;
        while (left > 0) {
            int c = (int) Math.min(left, buf.length);
            readFully(path, buf, 0, c);
            left -= c;
        }
    }

    /** A string of a u8 length and that many UTF-8 bytes (QEMU's idstr form). */
    public String string8(String path) {
        int n = u8(path);
        return new String(bytes(path, n), StandardCharsets.UTF_8);
    }
}
