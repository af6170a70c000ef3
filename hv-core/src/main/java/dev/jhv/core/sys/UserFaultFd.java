package dev.jhv.core.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A userfaultfd(2) in MISSING mode: an access to a page of a registered range that has no page behind it blocks
 * the accessing thread (a vCPU inside KVM_RUN included: KVM's page lookup honours the registration) until the
 * owner places the page with {@link #copy} or {@link #zeroPage}. Postcopy's destination runs the guest on it.
 * The fd is non-blocking; {@link #awaitFaults} polls it together with a wake-up eventfd so the reader can be
 * stopped. Structs are the kernel's (linux/userfaultfd.h), all fields 64-bit, so no padding is involved.
 */
public final class UserFaultFd implements AutoCloseable {
    static final long UFFD_API = 0xAA;
    /** _IOWR(0xAA, 0x3F, struct uffdio_api{api, features, ioctls}). */
    static final long UFFDIO_API = 0xc018aa3fL;
    /** _IOWR(0xAA, 0x00, struct uffdio_register{range{start, len}, mode, ioctls}). */
    static final long UFFDIO_REGISTER = 0xc020aa00L;
    /** _IOR(0xAA, 0x01, struct uffdio_range). */
    static final long UFFDIO_UNREGISTER = 0x8010aa01L;
    /** _IOR(0xAA, 0x02, struct uffdio_range). */
    static final long UFFDIO_WAKE = 0x8010aa02L;
    /** _IOWR(0xAA, 0x03, struct uffdio_copy{dst, src, len, mode, copy}). */
    static final long UFFDIO_COPY = 0xc028aa03L;
    /** _IOWR(0xAA, 0x04, struct uffdio_zeropage{range{start, len}, mode, zeropage}). */
    static final long UFFDIO_ZEROPAGE = 0xc020aa04L;
    static final long REGISTER_MODE_MISSING = 1;
    /** Bits of the ioctls a registered range allows (1 << _UFFDIO_COPY, 1 << _UFFDIO_ZEROPAGE). */
    static final long IOCTL_COPY = 1L << 3;
    static final long IOCTL_ZEROPAGE = 1L << 4;
    static final int EVENT_PAGEFAULT = 0x12;
    static final long PAGEFAULT_FLAG_WRITE = 1;
    /** struct uffd_msg: u8 event, 7 reserved bytes, then for a page fault u64 flags, u64 address, u32 ptid. */
    static final long MSG_BYTES = 32;
    private static final int MAX_MSGS = 64;
    private static final long PAGE = 4096;

    /** One page fault: the faulting address (not page aligned) and whether it was a write. */
    public record PageFault(long address, boolean write) {
        public long page() {
            return address & ~(PAGE - 1);
        }
    }

    private final int fd;
    private final EventFd wakeUp = EventFd.create(true);
    private final Arena arena = Arena.ofShared();
    /** The fault reader's buffers (one reader thread at a time). */
    private final MemorySegment msgs = arena.allocate(MSG_BYTES * MAX_MSGS, 8);
    private final MemorySegment pollFds = arena.allocate(2 * Libc.POLLFD_BYTES, 8);
    /** Ioctl arguments, one set per calling thread (the loader and the fault thread both place pages). */
    private final ThreadLocal<MemorySegment> args = ThreadLocal.withInitial(() -> Arena.global().allocate(40, 8));
    private final AtomicBoolean closed = new AtomicBoolean();

    private UserFaultFd(int fd) {
        this.fd = fd;
    }

    /**
     * A new userfaultfd past its API handshake.
     *
     * @throws SysCallException naming the call and errno (EPERM: neither root nor vm.unprivileged_userfaultfd)
     */
    public static UserFaultFd open() {
        int fd = Libc.tryUserfaultfd(Libc.O_CLOEXEC | Libc.O_NONBLOCK);
        if (fd < 0) {
            throw new SysCallException("userfaultfd", -fd);
        }
        UserFaultFd u = new UserFaultFd(fd);
        try {
            MemorySegment a = u.args.get();
            a.fill((byte) 0);
            a.set(JAVA_LONG, 0, UFFD_API);
            Libc.ioctl("UFFDIO_API", fd, UFFDIO_API, a);
        } catch (RuntimeException e) {
            u.close();
            throw e;
        }
        return u;
    }

    public int fd() {
        return fd;
    }

    /** Registers {@code range} (page aligned) in MISSING mode; refuses a range where pages cannot be placed. */
    public void registerMissing(MemorySegment range) {
        MemorySegment a = args.get();
        a.set(JAVA_LONG, 0, range.address());
        a.set(JAVA_LONG, 8, range.byteSize());
        a.set(JAVA_LONG, 16, REGISTER_MODE_MISSING);
        a.set(JAVA_LONG, 24, 0);
        Libc.ioctl("UFFDIO_REGISTER", fd, UFFDIO_REGISTER, a);
        long allowed = a.get(JAVA_LONG, 24);
        if ((allowed & (IOCTL_COPY | IOCTL_ZEROPAGE)) != (IOCTL_COPY | IOCTL_ZEROPAGE)) {
            unregister(range);
            throw new SysCallException("UFFDIO_REGISTER", Errno.ENOTSUP,
                    String.format("the range allows ioctls 0x%x, without COPY and ZEROPAGE", allowed));
        }
    }

    public void unregister(MemorySegment range) {
        Libc.ioctl("UFFDIO_UNREGISTER", fd, UFFDIO_UNREGISTER, range(range.address(), range.byteSize()));
    }

    private MemorySegment range(long start, long len) {
        MemorySegment a = args.get();
        a.set(JAVA_LONG, 0, start);
        a.set(JAVA_LONG, 8, len);
        return a;
    }

    /**
     * Places {@code len} bytes from native {@code src} at {@code dst} (page aligned) and wakes who waits there.
     *
     * @return 0, or {@code -errno}: EEXIST when a page is already there (then whoever waited is woken anyway)
     */
    public int copy(long dst, MemorySegment src, long len) {
        MemorySegment a = args.get();
        a.set(JAVA_LONG, 0, dst);
        a.set(JAVA_LONG, 8, src.address());
        a.set(JAVA_LONG, 16, len);
        a.set(JAVA_LONG, 24, 0);
        a.set(JAVA_LONG, 32, 0);
        return placed(Libc.tryIoctl(fd, UFFDIO_COPY, a), dst, len);
    }

    /** Places zero pages over [dst, dst + len) and wakes who waits there; 0 or {@code -errno} as {@link #copy}. */
    public int zeroPage(long dst, long len) {
        MemorySegment a = range(dst, len);
        a.set(JAVA_LONG, 16, 0);
        a.set(JAVA_LONG, 24, 0);
        return placed(Libc.tryIoctl(fd, UFFDIO_ZEROPAGE, a), dst, len);
    }

    private int placed(int rc, long dst, long len) {
        if (rc == -Errno.EEXIST) {
            wake(dst, len); // a fault raised before the page came may still sleep
        }
        return rc;
    }

    /** Wakes the threads waiting on [start, start + len) (their page is there now). */
    public void wake(long start, long len) {
        Libc.ioctl("UFFDIO_WAKE", fd, UFFDIO_WAKE, range(start, len));
    }

    /**
     * Waits up to {@code timeoutMs} (-1: forever) for page faults, or for {@link #interrupt}; fills {@code out} and
     * returns how many came (0 on a timeout or an interrupt). Events other than page faults are not asked for.
     */
    public int awaitFaults(PageFault[] out, int timeoutMs) {
        pollFds.set(JAVA_INT, 0, fd);
        pollFds.set(JAVA_SHORT, 4, Libc.POLLIN);
        pollFds.set(JAVA_SHORT, 6, (short) 0);
        pollFds.set(JAVA_INT, 8, wakeUp.fd());
        pollFds.set(JAVA_SHORT, 12, Libc.POLLIN);
        pollFds.set(JAVA_SHORT, 14, (short) 0);
        int rc = Libc.tryPoll(pollFds, 2, timeoutMs);
        if (rc == -Errno.EINTR || rc == 0) {
            return 0;
        }
        if (rc < 0) {
            throw new SysCallException("poll userfaultfd", -rc);
        }
        if (pollFds.get(JAVA_SHORT, 14) != 0) {
            wakeUp.read();
        }
        int max = (int) Math.min(out.length, MAX_MSGS);
        long n = Libc.tryRead(fd, msgs, max * MSG_BYTES);
        if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
            return 0;
        }
        if (n < 0) {
            throw new SysCallException("read userfaultfd", (int) -n);
        }
        int count = 0;
        for (long off = 0; off + MSG_BYTES <= n; off += MSG_BYTES) {
            if ((msgs.get(JAVA_BYTE, off) & 0xff) == EVENT_PAGEFAULT) {
                long flags = msgs.get(JAVA_LONG, off + 8);
                out[count++] = new PageFault(msgs.get(JAVA_LONG, off + 16), (flags & PAGEFAULT_FLAG_WRITE) != 0);
            }
        }
        return count;
    }

    /** Makes a pending or the next {@link #awaitFaults} return at once. */
    public void interrupt() {
        wakeUp.signal();
    }

    /** Closes the fd: threads still waiting on a registered range are woken and retry (they then see the page). */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Libc.close(fd);
            wakeUp.close();
            arena.close();
        }
    }
}
