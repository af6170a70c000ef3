package dev.jhv.core.block;

import dev.jhv.core.sys.Errno;
import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A raw disk image: the file's bytes are the disk's bytes. Positional I/O, safe for concurrent use.
 *
 * <p>With a {@link CacheMode#direct() direct} cache mode the file is opened with O_DIRECT, where the kernel wants
 * offsets, lengths and memory aligned to the file system's block size. Guest requests are aligned to 512 bytes
 * only, so a request that is not aligned goes through an aligned bounce buffer: a read reads the covering aligned
 * range, a write reads, patches and writes it back. Such a read-modify-write must not interleave with another write
 * to the same block, so unaligned writes run alone (the write lock) and aligned writes together (the read lock).
 */
public final class RawFileBlockDevice implements BlockDevice {
    private final Path path;
    private final FileChannel channel;
    private final boolean readOnly;
    private final ImageLock lock;
    private final CacheMode cache;
    /** The O_DIRECT alignment of offsets, lengths and memory; 1 when not direct. */
    private final int align;
    private final java.util.concurrent.locks.ReadWriteLock rmw = new java.util.concurrent.locks.ReentrantReadWriteLock();
    private static final int UNOPENED = -2;
    private int seekFd = UNOPENED;

    /** Opened as a guest's disk would be ({@link ImageLock.Access#device}). */
    public RawFileBlockDevice(Path path, boolean readOnly) throws IOException {
        this(path, ImageLock.Access.device(!readOnly));
    }

    /** Writable when {@code access} holds write; locked for {@code access} while open. */
    public RawFileBlockDevice(Path path, ImageLock.Access access) throws IOException {
        this(path, access, CacheMode.WRITEBACK);
    }

    /**
     * Opened for {@code cache}: O_DIRECT for none/directsync, O_DSYNC for writethrough/directsync, flush ignored
     * for unsafe. A file system that refuses O_DIRECT gives "Invalid argument", as QEMU says it.
     */
    public RawFileBlockDevice(Path path, ImageLock.Access access, CacheMode cache) throws IOException {
        this.path = path;
        this.readOnly = !access.writes();
        this.cache = cache;
        var options = new java.util.HashSet<java.nio.file.OpenOption>();
        options.add(StandardOpenOption.READ);
        if (!readOnly) {
            options.add(StandardOpenOption.WRITE);
            if (cache.syncEachWrite()) options.add(StandardOpenOption.DSYNC);
        }
        if (cache.direct()) options.add(com.sun.nio.file.ExtendedOpenOption.DIRECT);
        try {
            this.channel = FileChannel.open(path, options);
        } catch (java.nio.file.FileSystemException e) {
            if (cache.direct() && java.nio.file.Files.isReadable(path)) {
                // the file opens without O_DIRECT: it is the file system that refuses it (EINVAL)
                throw new IOException("Invalid argument", e);
            }
            throw e;
        } catch (UnsupportedOperationException | IOException e) {
            if (cache.direct()) throw new IOException("Invalid argument", e);
            throw e;
        }
        int a = 1;
        if (cache.direct()) {
            try {
                a = (int) java.nio.file.Files.getFileStore(path).getBlockSize();
            } catch (IOException | UnsupportedOperationException e) {
                a = 4096;
            }
        }
        this.align = a;
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

    public Path path() {
        return path;
    }

    /** The cache mode the file was opened for. */
    public CacheMode cacheMode() {
        return cache;
    }

    /** The alignment O_DIRECT needs here (1 when the file is not opened with O_DIRECT). */
    public int directAlignment() {
        return align;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        check(offset, dst.remaining());
        if (aligned(offset, dst)) {
            readFully(offset, dst);
            return;
        }
        long start = offset & -align;
        ByteBuffer bounce = bounce(offset + dst.remaining() - start);
        readFully(start, bounce);
        dst.put(bounce.position((int) (offset - start)).limit((int) (offset - start) + dst.remaining()));
    }

    private void readFully(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, pos);
            pos += Math.max(n, 0);
            if (n <= 0 || (pos & (align - 1)) != 0) {
                // the end of the file (with O_DIRECT, a short read that stops at an unaligned end)
                while (dst.hasRemaining()) dst.put((byte) 0);
                return;
            }
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        checkWritable();
        check(offset, src.remaining());
        if (align == 1) {
            writeFully(offset, src);
            return;
        }
        if (aligned(offset, src)) {
            rmw.readLock().lock();
            try {
                writeFully(offset, src);
            } finally {
                rmw.readLock().unlock();
            }
            return;
        }
        rmw.writeLock().lock();
        try {
            writeUnaligned(offset, src);
        } finally {
            rmw.writeLock().unlock();
        }
    }

    /** Read-modify-write of the covering aligned range; the file keeps its size even if its end is unaligned. */
    private void writeUnaligned(long offset, ByteBuffer src) throws IOException {
        long size = channel.size();
        long start = offset & -align;
        long len = offset + src.remaining() - start;
        ByteBuffer bounce = bounce(len);
        int rounded = bounce.limit();
        if (((offset | len) & (align - 1)) != 0) {
            // a block is only partly written: the rest of it keeps the bytes on disk
            readFully(start, bounce);
        }
        bounce.limit(rounded).position((int) (offset - start));
        bounce.put(src).position(0);
        writeFully(start, bounce);
        if (channel.size() > size) channel.truncate(size);
    }

    private void writeFully(long offset, ByteBuffer src) throws IOException {
        long pos = offset;
        while (src.hasRemaining()) pos += channel.write(src, pos);
    }

    /** Whether the kernel takes this request as it is: no O_DIRECT, or offset, length and address all aligned. */
    private boolean aligned(long offset, ByteBuffer buf) {
        if (align == 1) return true;
        if (((offset | buf.remaining()) & (align - 1)) != 0 || !buf.isDirect()) return false;
        long address = java.lang.foreign.MemorySegment.ofBuffer(buf).address();
        return (address & (align - 1)) == 0;
    }

    /** An aligned direct buffer covering {@code len} bytes rounded up to the alignment. */
    private ByteBuffer bounce(long len) throws IOException {
        long rounded = (len + align - 1) & -align;
        if (rounded > Integer.MAX_VALUE - align) throw new IOException(path + ": request of " + len + " bytes too large");
        return ByteBuffer.allocateDirect((int) rounded + align).alignedSlice(align).limit((int) rounded);
    }

    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        checkWritable();
        check(offset, length);
        int chunk = (int) Math.min(length, 1 << 20);
        var z = align == 1 ? ByteBuffer.allocate(chunk) : bounce(chunk);
        for (long p = offset; p < offset + length; ) {
            int n = (int) Math.min(chunk, offset + length - p);
            z.clear().limit(n);
            write(p, z);
            p += n;
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
        if (!readOnly && !cache.ignoreFlush()) channel.force(false);
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
        return path + " (raw" + (cache == CacheMode.WRITEBACK ? "" : ", cache=" + cache.qemuName()) + ")";
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
