package dev.jhv.qcow2.format;

import dev.jhv.core.block.ImageLock;
import dev.jhv.qcow2.Qcow2Exception;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** The host file under an image: positional reads and writes, thread-safe. */
public final class ImageFile implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;
    private final boolean readOnly;
    private final ImageLock lock;

    /** Opened for a guest's disk ({@link ImageLock.Access#device}). */
    public ImageFile(Path path, boolean readOnly) throws IOException {
        this(path, ImageLock.Access.device(!readOnly));
    }

    /** Writable when {@code access} holds write; the file is locked for a qcow2 image in that role while open. */
    public ImageFile(Path path, ImageLock.Access access) throws IOException {
        this.path = path;
        this.readOnly = !access.writes();
        this.channel = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            this.lock = ImageLock.acquire(path, access.qcow2File());
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public String name() {
        return path.toString();
    }

    public boolean readOnly() {
        return readOnly;
    }

    public long length() throws IOException {
        return channel.size();
    }

    /** Reads dst.remaining() bytes; the part past the end of the file reads as zeroes. */
    public void readPadded(long offset, ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            int n;
            try {
                n = channel.read(dst, offset);
            } catch (Qcow2Exception e) {
                throw e;
            } catch (IOException | IllegalArgumentException e) {
                throw new Qcow2Exception(name() + ": read error at offset " + offset + ": " + e.getMessage(), e);
            }
            if (n < 0) {
                while (dst.hasRemaining()) dst.put((byte) 0);
                return;
            }
            offset += n;
        }
    }

    /** Reads exactly len bytes of metadata; a short file is a corrupt image. */
    public byte[] readMeta(long offset, int len, String what) throws IOException {
        if (offset < 0 || len < 0 || offset + len > length()) {
            throw new Qcow2Exception(name() + ": " + what + " at offset " + offset + " (" + len
                    + " bytes) lies outside the file");
        }
        var buf = ByteBuffer.allocate(len);
        while (buf.hasRemaining()) {
            if (channel.read(buf, offset + buf.position()) < 0) {
                throw new Qcow2Exception(name() + ": unexpected end of file reading " + what);
            }
        }
        return buf.array();
    }

    public void write(long offset, ByteBuffer src) throws IOException {
        try {
            while (src.hasRemaining()) {
                offset += channel.write(src, offset);
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new Qcow2Exception(name() + ": write error at offset " + offset + ": " + e.getMessage(), e);
        }
    }

    public void write(long offset, byte[] data) throws IOException {
        write(offset, ByteBuffer.wrap(data));
    }

    public void writeLong(long offset, long v) throws IOException {
        write(offset, ByteBuffer.allocate(8).putLong(0, v));
    }

    public void flush() throws IOException {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw new Qcow2Exception(name() + ": flush failed: " + e.getMessage(), e);
        }
    }

    public void truncate(long size) throws IOException {
        channel.truncate(size);
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            lock.close();
        }
    }
}
