package dev.jhv.core.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * libslirp (Debian's libslirp0, 4.7), the user-mode TCP/IP stack QEMU's -netdev user uses, bound through FFM. One
 * instance is one slirp_new: a virtual network with a gateway, DHCP and DNS, and host forwards. libslirp is not
 * thread-safe: every method here but {@link #close} after the loop ended, and every callback, runs on one thread,
 * the owner's poll loop.
 *
 * <p>The structures follow libslirp.h's public API: {@code SlirpConfig} version 4 (IPv4 fields only: the IPv6 part
 * stays disabled) and {@code SlirpCb} with {@code timer_new_opaque}, whose expiry the owner reports through
 * {@link #handleTimer}. Addresses are IPv4 as an int in the usual order (10.0.2.2 is 0x0a000202).
 */
public final class LibSlirp implements AutoCloseable {
    /** SLIRP_POLL_* event bits of slirp_pollfds_fill and get_revents. */
    private static final int SLIRP_POLL_IN = 1;
    private static final int SLIRP_POLL_OUT = 2;
    private static final int SLIRP_POLL_PRI = 4;
    private static final int SLIRP_POLL_ERR = 8;
    private static final int SLIRP_POLL_HUP = 16;
    private static final int CONFIG_VERSION = 4;
    /** SlirpConfig v4 is 184 bytes on x86-64; the rest stays zero (later versions' fields, unused). */
    private static final long CONFIG_BYTES = 256;
    /** Offsets in SlirpConfig on x86-64 (bool 1 byte, struct in_addr 4, struct in6_addr 16 aligned 4, pointers 8). */
    private static final long CFG_VERSION = 0;
    private static final long CFG_RESTRICTED = 4;
    private static final long CFG_IN_ENABLED = 8;
    private static final long CFG_VNETWORK = 12;
    private static final long CFG_VNETMASK = 16;
    private static final long CFG_VHOST = 20;
    private static final long CFG_VDHCP_START = 96;
    private static final long CFG_VNAMESERVER = 100;
    /** SlirpCb: eleven function pointers in libslirp.h's order. */
    private static final int CB_SEND_PACKET = 0;
    private static final int CB_GUEST_ERROR = 1;
    private static final int CB_CLOCK_GET_NS = 2;
    private static final int CB_TIMER_FREE = 4;
    private static final int CB_TIMER_MOD = 5;
    private static final int CB_REGISTER_POLL_FD = 6;
    private static final int CB_UNREGISTER_POLL_FD = 7;
    private static final int CB_NOTIFY = 8;
    private static final int CB_INIT_COMPLETED = 9;
    private static final int CB_TIMER_NEW_OPAQUE = 10;
    private static final int CB_COUNT = 11;
    private static final int MAX_POLL_FDS = 4096;
    private static final ValueLayout.OfInt BE_INT = JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN);

    /** What the owner does for libslirp; all called on the loop thread. Exceptions are logged, never thrown to C. */
    public interface Callbacks {
        /** A frame for the guest; {@code frame} is valid during the call only. */
        void sendPacket(MemorySegment frame);

        /** The guest sent something slirp refuses (a malformed packet). */
        void guestError(String message);

        /** A new timer for slirp_handle_timer(id, cbOpaque); returns a non-zero handle. */
        long timerNew(int id, long cbOpaque);

        void timerFree(long timer);

        /** The timer fires at {@code expireMs} on the {@link System#nanoTime} clock in milliseconds. */
        void timerMod(long timer, long expireMs);

        /** Something changed that the poll loop should look at again (a new socket): wake it. */
        void notifyLoop();
    }

    /** One slirp_new's configuration. */
    public record Config(int network, int netmask, int host, int dhcpStart, int dns, boolean restricted) { }

    private static final class Native {
        static final Linker LINKER = Linker.nativeLinker();
        static final SymbolLookup LIB = SymbolLookup.libraryLookup("libslirp.so.0", Arena.global());
        static final MethodHandle NEW = bind("slirp_new", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        static final MethodHandle CLEANUP = bind("slirp_cleanup", FunctionDescriptor.ofVoid(ADDRESS));
        static final MethodHandle INPUT = bind("slirp_input", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_INT));
        static final MethodHandle FILL = bind("slirp_pollfds_fill",
                FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        static final MethodHandle POLL = bind("slirp_pollfds_poll",
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle HANDLE_TIMER = bind("slirp_handle_timer",
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS));
        /** struct in_addr by value is one 32-bit INTEGER-class word: passed as an int. */
        static final MethodHandle ADD_HOSTFWD = bind("slirp_add_hostfwd", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle VERSION = bind("slirp_version_string", FunctionDescriptor.of(ADDRESS));

        static MethodHandle bind(String name, FunctionDescriptor fd) {
            return LINKER.downcallHandle(LIB.find(name)
                    .orElseThrow(() -> new UnsatisfiedLinkError("libslirp has no " + name)), fd);
        }
    }

    private static final System.Logger LOG = System.getLogger("jhv.net.slirp");

    private final Arena arena = Arena.ofShared();
    private final Callbacks callbacks;
    private final MemorySegment slirp;
    private final MemorySegment timeout;
    private final MemorySegment pollFds;
    private final MemorySegment addPoll;
    private final MemorySegment getRevents;
    private int pollCount;
    private boolean closed;

    private LibSlirp(Config config, Callbacks callbacks) {
        this.callbacks = callbacks;
        try {
            MemorySegment cfg = arena.allocate(CONFIG_BYTES, 8);
            cfg.set(JAVA_INT, CFG_VERSION, CONFIG_VERSION);
            cfg.set(JAVA_INT, CFG_RESTRICTED, config.restricted() ? 1 : 0);
            cfg.set(ValueLayout.JAVA_BYTE, CFG_IN_ENABLED, (byte) 1);
            cfg.set(BE_INT, CFG_VNETWORK, config.network());
            cfg.set(BE_INT, CFG_VNETMASK, config.netmask());
            cfg.set(BE_INT, CFG_VHOST, config.host());
            cfg.set(BE_INT, CFG_VDHCP_START, config.dhcpStart());
            cfg.set(BE_INT, CFG_VNAMESERVER, config.dns());
            MemorySegment cb = arena.allocate(ADDRESS.byteSize() * CB_COUNT, 8);
            setCallback(cb, CB_SEND_PACKET, "sendPacket",
                    FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS));
            setCallback(cb, CB_GUEST_ERROR, "guestError", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
            setCallback(cb, CB_CLOCK_GET_NS, "clockGetNs", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
            setCallback(cb, CB_TIMER_FREE, "timerFree", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
            setCallback(cb, CB_TIMER_MOD, "timerMod", FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, ADDRESS));
            setCallback(cb, CB_REGISTER_POLL_FD, "pollFdChanged", FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS));
            setCallback(cb, CB_UNREGISTER_POLL_FD, "pollFdChanged", FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS));
            setCallback(cb, CB_NOTIFY, "notifyLoop", FunctionDescriptor.ofVoid(ADDRESS));
            setCallback(cb, CB_INIT_COMPLETED, "initCompleted", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
            setCallback(cb, CB_TIMER_NEW_OPAQUE, "timerNewOpaque",
                    FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
            addPoll = upcall("addPoll", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
            getRevents = upcall("getRevents", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
            timeout = arena.allocate(JAVA_INT);
            pollFds = arena.allocate(Libc.POLLFD_BYTES * MAX_POLL_FDS, 8);
            slirp = (MemorySegment) Native.NEW.invokeExact(cfg, cb, MemorySegment.NULL);
        } catch (Throwable t) {
            arena.close();
            throw t instanceof RuntimeException r ? r : new IllegalStateException("slirp_new failed", t);
        }
        if (slirp.equals(MemorySegment.NULL)) {
            arena.close();
            throw new IllegalStateException("slirp_new refused the configuration");
        }
    }

    /** A new slirp instance; throws UnsatisfiedLinkError's kin when libslirp0 is not installed. */
    public static LibSlirp create(Config config, Callbacks callbacks) {
        return new LibSlirp(config, callbacks);
    }

    /** libslirp's version, "4.7.0". */
    public static String version() {
        try {
            return ((MemorySegment) Native.VERSION.invokeExact()).reinterpret(64).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private void setCallback(MemorySegment cb, int index, String method, FunctionDescriptor fd) {
        cb.setAtIndex(ADDRESS, index, upcall(method, fd));
    }

    private MemorySegment upcall(String method, FunctionDescriptor fd) {
        try {
            MethodHandle mh = MethodHandles.lookup().findVirtual(LibSlirp.class, method, fd.toMethodType())
                    .bindTo(this);
            return Native.LINKER.upcallStub(mh, fd, arena);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- upcalls from libslirp: never let an exception reach C (it would end the JVM)

    private long sendPacket(MemorySegment buf, long len, MemorySegment opaque) {
        try {
            callbacks.sendPacket(buf.reinterpret(len));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "slirp frame to the guest dropped", e);
        }
        return len;
    }

    private void guestError(MemorySegment msg, MemorySegment opaque) {
        try {
            callbacks.guestError(msg.reinterpret(4096).getString(0));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "slirp guest error", e);
        }
    }

    private long clockGetNs(MemorySegment opaque) {
        return System.nanoTime();
    }

    private MemorySegment timerNewOpaque(int id, MemorySegment cbOpaque, MemorySegment opaque) {
        try {
            return MemorySegment.ofAddress(callbacks.timerNew(id, cbOpaque.address()));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "slirp timer", e);
            return MemorySegment.NULL;
        }
    }

    private void timerFree(MemorySegment timer, MemorySegment opaque) {
        try {
            callbacks.timerFree(timer.address());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "slirp timer", e);
        }
    }

    private void timerMod(MemorySegment timer, long expireMs, MemorySegment opaque) {
        try {
            callbacks.timerMod(timer.address(), expireMs);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "slirp timer", e);
        }
    }

    /** register/unregister_poll_fd: the loop polls what slirp_pollfds_fill names, so a change only wakes it. */
    private void pollFdChanged(int fd, MemorySegment opaque) {
        notifyLoop(opaque);
    }

    private void notifyLoop(MemorySegment opaque) {
        try {
            callbacks.notifyLoop();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "slirp notify", e);
        }
    }

    private void initCompleted(MemorySegment instance, MemorySegment opaque) {
    }

    private int addPoll(int fd, int events, MemorySegment opaque) {
        if (pollCount == MAX_POLL_FDS) {
            return -1;  // slirp then leaves that socket out of this round
        }
        short ev = 0;
        ev |= (events & SLIRP_POLL_IN) != 0 ? Libc.POLLIN : 0;
        ev |= (events & SLIRP_POLL_OUT) != 0 ? Libc.POLLOUT : 0;
        ev |= (events & SLIRP_POLL_PRI) != 0 ? Libc.POLLPRI : 0;
        ev |= (events & SLIRP_POLL_ERR) != 0 ? Libc.POLLERR : 0;
        ev |= (events & SLIRP_POLL_HUP) != 0 ? Libc.POLLHUP : 0;
        setPollFd(pollCount, fd, ev);
        return pollCount++;
    }

    private int getRevents(int idx, MemorySegment opaque) {
        if (idx < 0 || idx >= pollCount) {
            return 0;
        }
        short r = pollFds.get(ValueLayout.JAVA_SHORT, idx * Libc.POLLFD_BYTES + 6);
        int out = 0;
        out |= (r & Libc.POLLIN) != 0 ? SLIRP_POLL_IN : 0;
        out |= (r & Libc.POLLOUT) != 0 ? SLIRP_POLL_OUT : 0;
        out |= (r & Libc.POLLPRI) != 0 ? SLIRP_POLL_PRI : 0;
        out |= (r & Libc.POLLERR) != 0 ? SLIRP_POLL_ERR : 0;
        out |= (r & Libc.POLLHUP) != 0 ? SLIRP_POLL_HUP : 0;
        return out;
    }

    private void setPollFd(int index, int fd, short events) {
        long off = index * Libc.POLLFD_BYTES;
        pollFds.set(JAVA_INT, off, fd);
        pollFds.set(ValueLayout.JAVA_SHORT, off + 4, events);
        pollFds.set(ValueLayout.JAVA_SHORT, off + 6, (short) 0);
    }

    // ---- the loop's calls

    /**
     * One round of the loop: polls {@code wakeFd} (entry 0, POLLIN) and slirp's sockets for up to
     * {@code timeoutMs} (slirp may shorten it), then lets slirp handle what became ready. Returns whether
     * {@code wakeFd} was readable.
     */
    public boolean pollOnce(int wakeFd, int timeoutMs) {
        pollCount = 0;
        setPollFd(pollCount++, wakeFd, Libc.POLLIN);
        timeout.set(JAVA_INT, 0, timeoutMs);
        try {
            Native.FILL.invokeExact(slirp, timeout, addPoll, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException("slirp_pollfds_fill", t);
        }
        int rc = Libc.tryPoll(pollFds, pollCount, timeout.get(JAVA_INT, 0));
        boolean woken = rc > 0 && pollFds.get(ValueLayout.JAVA_SHORT, 6) != 0;
        try {
            Native.POLL.invokeExact(slirp, rc < 0 && rc != -Errno.EINTR ? 1 : 0, getRevents, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException("slirp_pollfds_poll", t);
        }
        return woken;
    }

    /** A frame from the guest (native memory, read during the call only). */
    public void input(MemorySegment frame) {
        try {
            Native.INPUT.invokeExact(slirp, frame, (int) frame.byteSize());
        } catch (Throwable t) {
            throw new IllegalStateException("slirp_input", t);
        }
    }

    /** A timer of {@link Callbacks#timerNew} expired. */
    public void handleTimer(int id, long cbOpaque) {
        try {
            Native.HANDLE_TIMER.invokeExact(slirp, id, MemorySegment.ofAddress(cbOpaque));
        } catch (Throwable t) {
            throw new IllegalStateException("slirp_handle_timer", t);
        }
    }

    /** slirp_add_hostfwd; returns false when the host port cannot be bound (in use, no permission). */
    public boolean addHostForward(boolean udp, int hostAddr, int hostPort, int guestAddr, int guestPort) {
        try {
            int rc = (int) Native.ADD_HOSTFWD.invokeExact(slirp, udp ? 1 : 0, Integer.reverseBytes(hostAddr),
                    hostPort, Integer.reverseBytes(guestAddr), guestPort);
            return rc == 0;
        } catch (Throwable t) {
            throw new IllegalStateException("slirp_add_hostfwd", t);
        }
    }

    /** slirp_cleanup and the callbacks' memory; the loop must have ended. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Native.CLEANUP.invokeExact(slirp);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "slirp_cleanup", t);
        }
        arena.close();
    }
}
