package dev.jhv.core.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An epoll(7) instance: one thread waits on many descriptors (a device's queue eventfds, a tap fd and a stop
 * eventfd). Each registered descriptor carries a caller's token (an int), given back with its ready events.
 * {@link #add}, {@link #modify} and {@link #remove} may be called from any thread; {@link #await} from one.
 */
public final class Epoll implements AutoCloseable {
    public static final int EPOLLIN = 0x001;
    public static final int EPOLLOUT = 0x004;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;
    private static final int EPOLL_CLOEXEC = 0x80000;
    private static final int EPOLL_CTL_ADD = 1;
    private static final int EPOLL_CTL_DEL = 2;
    private static final int EPOLL_CTL_MOD = 3;

    /** struct epoll_event is packed on x86-64: u32 events at 0, u64 data at 4; 12 bytes. */
    private static final StructLayout EVENT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("events"),
            ValueLayout.JAVA_LONG_UNALIGNED.withName("data"));
    private static final int MAX_EVENTS = 64;

    /** The ready events of one {@link #await}: {@code count} entries, each a token and its event bits. */
    public final class Ready {
        private int count;

        public int count() {
            return count;
        }

        public int token(int i) {
            return (int) out.get(ValueLayout.JAVA_LONG_UNALIGNED, i * EVENT.byteSize() + 4);
        }

        public int events(int i) {
            return out.get(ValueLayout.JAVA_INT_UNALIGNED, i * EVENT.byteSize());
        }
    }

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment out = arena.allocate(EVENT.byteSize() * MAX_EVENTS, 8);
    private final Ready ready = new Ready();
    private final AtomicBoolean closed = new AtomicBoolean();

    public Epoll() {
        this.fd = Libc.epollCreate1(EPOLL_CLOEXEC);
    }

    /** Watches {@code watched} for {@code events} (EPOLLIN, EPOLLOUT), level-triggered, reporting {@code token}. */
    public void add(int watched, int events, int token) {
        ctl("EPOLL_CTL_ADD", EPOLL_CTL_ADD, watched, events, token);
    }

    public void modify(int watched, int events, int token) {
        ctl("EPOLL_CTL_MOD", EPOLL_CTL_MOD, watched, events, token);
    }

    public void remove(int watched) {
        ctl("EPOLL_CTL_DEL", EPOLL_CTL_DEL, watched, 0, 0);
    }

    private void ctl(String name, int op, int watched, int events, int token) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ev = a.allocate(EVENT);
            ev.set(ValueLayout.JAVA_INT_UNALIGNED, 0, events);
            ev.set(ValueLayout.JAVA_LONG_UNALIGNED, 4, token);
            int rc = Libc.tryEpollCtl(fd, op, watched, ev);
            if (rc < 0) {
                throw new SysCallException("epoll_ctl " + name + " fd " + watched, -rc);
            }
        }
    }

    /**
     * Waits up to {@code timeoutMs} (-1: no limit) for a ready descriptor; an EINTR returns an empty result. The
     * result is reused by the next call.
     */
    public Ready await(int timeoutMs) {
        int rc = Libc.tryEpollWait(fd, out, MAX_EVENTS, timeoutMs);
        if (rc == -Errno.EINTR) {
            rc = 0;
        } else if (rc < 0) {
            throw new SysCallException("epoll_wait", -rc);
        }
        ready.count = rc;
        return ready;
    }

    /** Closes the instance once; the waiting thread must have stopped (signal its stop eventfd first). */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Libc.close(fd);
            arena.close();
        }
    }
}
