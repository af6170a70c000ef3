package dev.jhv.core.block;

import dev.jhv.core.sys.Errno;
import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The engine for raw files: Linux io_uring (io_uring_setup and io_uring_enter through FFM, the submission and
 * completion rings mmap'd and filled by hand). One submission is one system call for any number of guest buffers
 * (READV/WRITEV over the guest's memory, no copy), the kernel runs the requests in parallel (with O_DIRECT straight
 * to the disk queue), and one reaper thread takes the completions. It needs the file's own descriptor, so it serves
 * {@link RawFileBlockDevice} only; what io_uring cannot take as it is (a request O_DIRECT refuses unaligned, one
 * past the disk end, write-zeroes, discard, a short transfer) goes to a {@link ThreadPoolBlockIo} over the same
 * device, which gives the same answer the slow way.
 */
public final class IoUringBlockIo implements AsyncBlockIo {
    private static final System.Logger LOG = System.getLogger(IoUringBlockIo.class.getName());
    private static final int ENTRIES = 256;
    private static final int MAX_IOVECS = 256;
    private static final int SQE_SIZE = 64;
    private static final int CQE_SIZE = 16;
    private static final long OFF_SQ_RING = 0;
    private static final long OFF_CQ_RING = 0x8000000L;
    private static final long OFF_SQES = 0x10000000L;
    private static final int OP_NOP = 0;
    private static final int OP_READV = 1;
    private static final int OP_WRITEV = 2;
    private static final int OP_FSYNC = 3;
    private static final int FSYNC_DATASYNC = 1;
    private static final int ENTER_GETEVENTS = 1;
    private static final int MAP_POPULATE = 0x8000;
    private static final int O_DIRECT = 040000;
    private static final long WAKE = -1;
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private final RawFileBlockDevice device;
    private final ThreadPoolBlockIo fallback;
    private final int ringFd;
    private final int fileFd;
    private final int align;
    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;
    private final int sqHead, sqTail, sqMask, sqArray;
    private final int cqHead, cqTail, cqMask, cqes;
    private final int sqMaskValue, cqMaskValue;
    private final Arena arena = Arena.ofShared();
    /** One iovec table per slot; the slot index is the request's user_data. */
    private final MemorySegment iovecs;
    private final Completion[] slots = new Completion[ENTRIES];
    private final long[] expected = new long[ENTRIES];
    private final Runnable[] retry = new Runnable[ENTRIES];
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final Thread reaper;
    private boolean closed;

    /** Whether this host lets a process use io_uring (kernel support, io_uring_disabled, seccomp). */
    public static boolean available() {
        try (Arena a = Arena.ofConfined()) {
            int fd = Libc.tryIoUringSetup(2, a.allocate(120));
            if (fd < 0) {
                return false;
            }
            Libc.close(fd);
            return true;
        }
    }

    /** @throws IOException when the ring or the file's descriptor cannot be had (the caller then uses the pool) */
    public IoUringBlockIo(RawFileBlockDevice device, String name, int fallbackThreads) throws IOException {
        this.device = device;
        this.align = device.directAlignment();
        MemorySegment p = arena.allocate(120);
        int fd = Libc.tryIoUringSetup(ENTRIES, p);
        if (fd < 0) {
            throw new IOException("io_uring_setup: " + Errno.name(-fd));
        }
        this.ringFd = fd;
        try {
            int sqEntries = p.get(ValueLayout.JAVA_INT, 0);
            int cqEntries = p.get(ValueLayout.JAVA_INT, 4);
            // struct io_sqring_offsets at 40, io_cqring_offsets at 80
            sqHead = p.get(ValueLayout.JAVA_INT, 40);
            sqTail = p.get(ValueLayout.JAVA_INT, 44);
            sqMask = p.get(ValueLayout.JAVA_INT, 40 + 8);
            sqArray = p.get(ValueLayout.JAVA_INT, 40 + 24);
            cqHead = p.get(ValueLayout.JAVA_INT, 80);
            cqTail = p.get(ValueLayout.JAVA_INT, 84);
            cqMask = p.get(ValueLayout.JAVA_INT, 80 + 8);
            cqes = p.get(ValueLayout.JAVA_INT, 80 + 20);
            int prot = Libc.PROT_READ | Libc.PROT_WRITE;
            sqRing = Libc.mmap(sqArray + 4L * sqEntries, prot, Libc.MAP_SHARED | MAP_POPULATE, fd, OFF_SQ_RING);
            cqRing = Libc.mmap(cqes + (long) CQE_SIZE * cqEntries, prot, Libc.MAP_SHARED | MAP_POPULATE, fd,
                    OFF_CQ_RING);
            sqes = Libc.mmap((long) SQE_SIZE * sqEntries, prot, Libc.MAP_SHARED | MAP_POPULATE, fd, OFF_SQES);
            sqMaskValue = sqRing.get(ValueLayout.JAVA_INT, sqMask);
            cqMaskValue = cqRing.get(ValueLayout.JAVA_INT, cqMask);
            int flags = (device.isReadOnly() ? Libc.O_RDONLY : Libc.O_RDWR) | Libc.O_CLOEXEC
                    | (device.cacheMode().direct() ? O_DIRECT : 0)
                    | (device.cacheMode().syncEachWrite() ? 010000 : 0);
            this.fileFd = Libc.open(device.path().toString(), flags);
        } catch (SysCallException e) {
            Libc.close(fd);
            throw new IOException(e.getMessage(), e);
        }
        this.iovecs = arena.allocate((long) ENTRIES * MAX_IOVECS * 16, 8);
        for (int i = 0; i < ENTRIES; i++) {
            free.add(i);
        }
        this.fallback = new ThreadPoolBlockIo(device, name, fallbackThreads);
        this.reaper = new Thread(this::reap, name + "-io_uring");
        reaper.setDaemon(true);
        reaper.start();
    }

    @Override
    public BlockDevice device() {
        return device;
    }

    @Override
    public String engineName() {
        return "io_uring";
    }

    @Override
    public void read(long offset, List<MemorySegment> buffers, Completion done) {
        rw(OP_READV, offset, buffers, done, () -> fallback.read(offset, buffers, done));
    }

    @Override
    public void write(long offset, List<MemorySegment> buffers, Completion done) {
        rw(OP_WRITEV, offset, buffers, done, () -> fallback.write(offset, buffers, done));
    }

    @Override
    public void writeZeroes(long offset, long length, Completion done) {
        fallback.writeZeroes(offset, length, done);
    }

    @Override
    public void discard(long offset, long length, Completion done) {
        fallback.discard(offset, length, done);
    }

    @Override
    public void flush(Completion done) {
        if (device.isReadOnly() || device.cacheMode().ignoreFlush()) {
            fallback.flush(done); // nothing to sync: the device's flush does nothing, on a pool thread
            return;
        }
        submit(OP_FSYNC, 0, 0, FSYNC_DATASYNC, done, () -> fallback.flush(done), List.of());
    }

    private void rw(int op, long offset, List<MemorySegment> buffers, Completion done, Runnable slow) {
        long total = 0;
        boolean ok = buffers.size() <= MAX_IOVECS && !(op == OP_WRITEV && device.isReadOnly());
        for (MemorySegment b : buffers) {
            total += b.byteSize();
            ok &= b.isNative() && ((b.address() | b.byteSize()) & (align - 1)) == 0;
        }
        ok &= offset >= 0 && (offset & (align - 1)) == 0 && offset + total <= device.size();
        if (!ok || total == 0) {
            slow.run();
            return;
        }
        submit(op, offset, total, 0, done, slow, buffers);
    }

    /** Takes a slot (waiting for one while the ring is full), fills its iovecs and queues the request. */
    private void submit(int op, long offset, long total, int rwFlags, Completion done, Runnable slow,
                        List<MemorySegment> buffers) {
        synchronized (this) {
            while (free.isEmpty() && !closed) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    slow.run();
                    return;
                }
            }
            if (closed) {
                done.completed(new IOException(device.describe() + ": the block I/O engine is closed"));
                return;
            }
            int slot = free.poll();
            slots[slot] = done;
            expected[slot] = total;
            retry[slot] = slow;
            MemorySegment iov = iovecs.asSlice((long) slot * MAX_IOVECS * 16, (long) MAX_IOVECS * 16);
            for (int i = 0; i < buffers.size(); i++) {
                MemorySegment b = buffers.get(i);
                iov.set(ValueLayout.JAVA_LONG, i * 16L, b.address());
                iov.set(ValueLayout.JAVA_LONG, i * 16L + 8, b.byteSize());
            }
            if (!queue(op, fileFd, offset, buffers.isEmpty() ? 0 : iov.address(), buffers.size(), rwFlags, slot)) {
                slots[slot] = null;
                retry[slot] = null;
                free.add(slot);
                notifyAll();
                slow.run();
            }
        }
    }

    /**
     * Fills the next submission queue entry, publishes the tail and tells the kernel (with the lock held); false
     * when the kernel took nothing (the entry is withdrawn).
     */
    private boolean queue(int op, int fd, long offset, long addr, int len, int rwFlags, long userData) {
        int tail = (int) INT.getAcquire(sqRing, (long) sqTail);
        int index = tail & sqMaskValue;
        MemorySegment sqe = sqes.asSlice((long) index * SQE_SIZE, SQE_SIZE);
        sqe.fill((byte) 0);
        sqe.set(ValueLayout.JAVA_BYTE, 0, (byte) op);
        sqe.set(ValueLayout.JAVA_INT, 4, fd);
        sqe.set(ValueLayout.JAVA_LONG, 8, offset);
        sqe.set(ValueLayout.JAVA_LONG, 16, addr);
        sqe.set(ValueLayout.JAVA_INT, 24, len);
        sqe.set(ValueLayout.JAVA_INT, 28, rwFlags);
        sqe.set(ValueLayout.JAVA_LONG, 32, userData);
        sqRing.set(ValueLayout.JAVA_INT, sqArray + 4L * index, index);
        INT.setRelease(sqRing, (long) sqTail, tail + 1);
        int rc;
        do {
            rc = Libc.tryIoUringEnter(ringFd, 1, 0, 0);
        } while (rc == -Errno.EINTR);
        if (rc < 0) {
            LOG.log(System.Logger.Level.WARNING, device.describe() + ": io_uring_enter: " + Errno.name(-rc));
            INT.setRelease(sqRing, (long) sqTail, tail);
            return false;
        }
        return true;
    }

    /** The reaper: waits for completions and runs them; a short transfer is done again by the pool. */
    private void reap() {
        while (true) {
            int rc = Libc.tryIoUringEnter(ringFd, 0, 1, ENTER_GETEVENTS);
            if (rc < 0 && rc != -Errno.EINTR && rc != -Errno.EAGAIN) {
                LOG.log(System.Logger.Level.ERROR, device.describe() + ": io_uring_enter: " + Errno.name(-rc));
                return;
            }
            int head = cqRing.get(ValueLayout.JAVA_INT, cqHead);
            int tail = (int) INT.getAcquire(cqRing, (long) cqTail);
            boolean stop = false;
            for (; head != tail; head++) {
                long at = cqes + (long) (head & cqMaskValue) * CQE_SIZE;
                long slot = cqRing.get(ValueLayout.JAVA_LONG, at);
                int res = cqRing.get(ValueLayout.JAVA_INT, at + 8);
                if (slot == WAKE) {
                    stop = true;
                    continue;
                }
                complete((int) slot, res);
            }
            INT.setRelease(cqRing, (long) cqHead, head);
            if (stop) {
                return;
            }
        }
    }

    private void complete(int slot, int res) {
        Completion done;
        Runnable slow;
        long want;
        synchronized (this) {
            done = slots[slot];
            slow = retry[slot];
            want = expected[slot];
            slots[slot] = null;
            retry[slot] = null;
            free.add(slot);
            notifyAll();
        }
        if (res >= 0 && res < want) {
            slow.run(); // a short read or write: the pool does the whole request again
            return;
        }
        try {
            done.completed(res < 0 ? new IOException(device.describe() + ": " + Errno.name(-res)) : null);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "block I/O completion failed", e);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            while (free.size() < ENTRIES) {
                try {
                    wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        // a NOP whose user_data tells the reaper to stop
        submitWake();
        try {
            reaper.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        fallback.close();
        Libc.munmap(sqes);
        Libc.munmap(cqRing);
        Libc.munmap(sqRing);
        Libc.close(fileFd);
        Libc.close(ringFd);
        arena.close();
    }

    private synchronized void submitWake() {
        queue(OP_NOP, -1, 0, 0, 0, 0, WAKE);
    }
}
