package dev.jhv.core.vmstate;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/** A big-endian writer that counts the bytes it has written. I/O errors come out as UncheckedIOException. */
public final class VMStateOutput {
    private final OutputStream out;
    private long offset;
    private final byte[] scratch = new byte[8];
    private byte[] copyBuffer;

    public VMStateOutput(OutputStream out) {
        this.out = out;
    }

    /** A writer into a growing byte array; see {@link #toByteArray()}. */
    public VMStateOutput() {
        this(new ByteArrayOutputStream());
    }

    public long offset() {
        return offset;
    }

    /** The bytes written so far, for writers made with {@link #VMStateOutput()}. */
    public byte[] toByteArray() {
        if (out instanceof ByteArrayOutputStream b) {
            return b.toByteArray();
        }
        throw new IllegalStateException("not an in-memory output");
    }

    public void u8(int v) {
        bits(v, 1);
    }

    public void u16(int v) {
        bits(v, 2);
    }

    public void u32(long v) {
        bits(v, 4);
    }

    public void u64(long v) {
        bits(v, 8);
    }

    /** Writes the low {@code size} bytes of v big-endian. */
    public void bits(long v, int size) {
        for (int i = 0; i < size; i++) {
            scratch[i] = (byte) (v >>> (8 * (size - 1 - i)));
        }
        bytes(scratch, 0, size);
    }

    public void bytes(byte[] b) {
        bytes(b, 0, b.length);
    }

    public void bytes(byte[] b, int off, int len) {
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e); // the message, not the class name, reaches the monitor
        }
        offset += len;
    }

    /** Copies a region of native memory (guest RAM) to the stream. */
    public void bytes(MemorySegment seg) {
        if (copyBuffer == null) {
            copyBuffer = new byte[65536];
        }
        byte[] buf = copyBuffer;
        long done = 0;
        while (done < seg.byteSize()) {
            int n = (int) Math.min(buf.length, seg.byteSize() - done);
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, done, buf, 0, n);
            bytes(buf, 0, n);
            done += n;
        }
    }

    public void zeros(int n) {
        for (int i = 0; i < n; i++) {
            u8(0);
        }
    }

    /** A u8 length and the UTF-8 bytes (at most 255). */
    public void string8(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 255) {
            throw new IllegalArgumentException("name longer than 255 bytes: " + s);
        }
        u8(b.length);
        bytes(b);
    }

    public void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e); // the message, not the class name, reaches the monitor
        }
    }
}
