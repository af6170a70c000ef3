package dev.jhv.core.block;

import dev.jhv.core.sys.Errno;
import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A raw disk image: the file's bytes are the disk's bytes. Positional I/O, safe for concurrent use. */
public final class RawFileBlockDevice implements BlockDevice {
    private final Path path;
    private final FileChannel channel;
    private final boolean readOnly;
    private final ImageLock lock;
    private static final int UNOPENED = -2;
    private int seekFd = UNOPENED;

    /** Opened as a guest's disk would be ({@link ImageLock.Access#device}). */
    public RawFileBlockDevice(Path path, boolean readOnly) throws IOException {
        this(path, ImageLock.Access.device(!readOnly));
    }

    /** Writable when {@code access} holds write; locked for {@code access} while open. */
    public RawFileBlockDevice(Path path, ImageLock.Access access) throws IOException {
        this.path = path;
        this.readOnly = !access.writes();
        this.channel = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            this.lock = ImageLock.acquire(path, access);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public long size() {
        try {
            return channel.size();
        } catch (IOException e) {
            return 0;
        }
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    private void check(long offset, long len) throws IOException {
        if (offset < 0 || len < 0 || offset + len > size()) {
            throw new IOException(path + ": request [" + offset + ", +" + len + ") beyond the disk end " + size());
        }
    }

    private void checkWritable() throws IOException {
        if (readOnly) throw new IOException(path + ": image is opened read-only");
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        check(offset, dst.remaining());
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, pos);
            if (n < 0) {
                while (dst.hasRemaining()) dst.put((byte) 0);
                return;
            }
            pos += n;
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        checkWritable();
        check(offset, src.remaining());
        long pos = offset;
        while (src.hasRemaining()) pos += channel.write(src, pos);
    }

    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        checkWritable();
        check(offset, length);
        var z = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
        for (long p = offset; p < offset + length; ) {
            z.clear().limit((int) Math.min(z.capacity(), offset + length - p));
            while (z.hasRemaining()) p += channel.write(z, p);
        }
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        checkWritable();
        check(offset, length);
        // A hint only; a raw file keeps its bytes (punching holes needs fallocate).
    }

    @Override
    public void flush() throws IOException {
        if (!readOnly) channel.force(false);
    }

    /**
     * Holes of a sparse file read as zero: found with lseek SEEK_DATA/SEEK_HOLE, as qemu-img does. A file system
     * that cannot tell (or an error) makes the whole range data, which is always correct, only less precise.
     */
    @Override
    public Allocation allocationStatus(long offset, long length) throws IOException {
        check(offset, 0);
        long end = offset + Math.min(length, size() - offset);
        int fd = seekFd();
        if (fd < 0 || offset == end) {
            return new Allocation(offset, end - offset, Allocation.Kind.DATA, 0);
        }
        long data = Libc.tryLseek(fd, offset, Libc.SEEK_DATA);
        if (data == -Errno.ENXIO || data > offset) {
            // a hole up to the next data, or to the end of the file
            long holeEnd = data < 0 ? end : Math.min(data, end);
            return new Allocation(offset, holeEnd - offset, Allocation.Kind.ZERO, 0);
        }
        long hole = data == offset ? Libc.tryLseek(fd, offset, Libc.SEEK_HOLE) : -1;
        long dataEnd = hole > offset ? Math.min(hole, end) : end;
        return new Allocation(offset, dataEnd - offset, Allocation.Kind.DATA, 0);
    }

    /** A descriptor for SEEK_DATA/SEEK_HOLE (FileChannel has no such call), opened on first use; -1 if it fails. */
    private synchronized int seekFd() {
        if (seekFd == UNOPENED) {
            try {
                seekFd = Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
            } catch (SysCallException e) {
                seekFd = -1;
            }
        }
        return seekFd;
    }

    /** Grows or shrinks the file. */
    public void resize(long newSize) throws IOException {
        checkWritable();
        if (newSize < channel.size()) {
            channel.truncate(newSize);
        } else if (newSize > channel.size()) {
            channel.write(ByteBuffer.allocate(1), newSize - 1);
        }
    }

    @Override
    public String describe() {
        return path + " (raw)";
    }

    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (seekFd >= 0) {
                Libc.close(seekFd);
            }
            seekFd = -1;
        }
        try {
            channel.close();
        } finally {
            lock.close();
        }
    }
}
