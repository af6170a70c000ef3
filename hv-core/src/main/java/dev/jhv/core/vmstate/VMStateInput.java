package dev.jhv.core.vmstate;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * A big-endian reader over an untrusted byte stream that knows its offset and which section it is in, so every error
 * names where it happened. Reads never allocate more than the caller's (bounded) length.
 */
public final class VMStateInput {
    private final InputStream in;
    private long offset;
    private String section;
    private int instanceId = -1;

    public VMStateInput(InputStream in) {
        this(in, 0);
    }

    /** @param baseOffset the stream offset of the first byte {@code in} yields (for messages) */
    public VMStateInput(InputStream in, long baseOffset) {
        this.in = in;
        this.offset = baseOffset;
    }

    public VMStateInput(byte[] data) {
        this(new ByteArrayInputStream(data), 0);
    }

    /** The stream offset of the next byte. */
    public long offset() {
        return offset;
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
        int b;
        try {
            b = in.read();
        } catch (IOException e) {
            throw new VMStateException(section, instanceId, path, offset, "read error: " + e.getMessage(),
                    null, e);
        }
        if (b < 0) {
            throw error(path, "stream ends after " + have + " of " + need + " bytes");
        }
        offset++;
        return b;
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
        int done = 0;
        while (done < n) {
            int r;
            try {
                r = in.read(b, off + done, n - done);
            } catch (IOException e) {
                throw new VMStateException(section, instanceId, path, offset, "read error: " + e.getMessage(),
                        null, e);
            }
            if (r < 0) {
                throw error(path, "stream ends after " + done + " of " + n + " bytes");
            }
            done += r;
            offset += r;
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
