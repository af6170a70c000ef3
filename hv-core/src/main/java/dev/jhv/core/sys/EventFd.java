package dev.jhv.core.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An eventfd(2): a 64-bit counter in the kernel that a write adds to and a read takes and zeroes. KVM signals one
 * (ioeventfd, an irqfd's resample) or waits on one (irqfd); the VMM's side of it is this object.
 */
public final class EventFd implements AutoCloseable {
    private static final ThreadLocal<MemorySegment> BUFFER =
            ThreadLocal.withInitial(() -> Arena.global().allocate(ValueLayout.JAVA_LONG));

    private final int fd;
    private final boolean nonBlocking;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EventFd(int fd, boolean nonBlocking) {
        this.fd = fd;
        this.nonBlocking = nonBlocking;
    }

    /** A new eventfd with a zero counter, close-on-exec; a read of a non-blocking one returns 0 when none is pending. */
    public static EventFd create(boolean nonBlocking) {
        int flags = Libc.EFD_CLOEXEC | (nonBlocking ? Libc.EFD_NONBLOCK : 0);
        return new EventFd(Libc.eventfd(0, flags), nonBlocking);
    }

    public int fd() {
        return fd;
    }

    /** Adds 1 to the counter: wakes whoever waits on it (KVM injects an irqfd's interrupt). */
    public void signal() {
        add(1);
    }

    /** Adds {@code n} (1 to 2^64-2) to the counter. */
    public void add(long n) {
        MemorySegment b = BUFFER.get();
        b.set(ValueLayout.JAVA_LONG, 0, n);
        long rc = Libc.tryWrite(fd, b, 8);
        if (rc < 0) {
            throw new SysCallException("eventfd write", (int) -rc);
        }
    }

    /**
     * Takes the counter and zeroes it. A blocking eventfd waits until it is not zero; a non-blocking one returns 0
     * at once when nothing was signalled.
     */
    public long read() {
        MemorySegment b = BUFFER.get();
        while (true) {
            long rc = Libc.tryRead(fd, b, 8);
            if (rc == 8) {
                return b.get(ValueLayout.JAVA_LONG, 0);
            }
            if (rc == -Errno.EAGAIN && nonBlocking) {
                return 0;
            }
            if (rc != -Errno.EINTR) {
                throw new SysCallException("eventfd read", rc < 0 ? (int) -rc : Errno.EIO);
            }
        }
    }

    /** Closes the fd once; later calls do nothing. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Libc.close(fd);
        }
    }

    @Override
    public String toString() {
        return "eventfd " + fd;
    }
}
