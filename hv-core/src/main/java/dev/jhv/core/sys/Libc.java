package dev.jhv.core.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The libc calls the VMM needs, bound through FFM. Every call that can fail captures errno and throws
 * {@link SysCallException} naming the call; callers that expect a failure (EINTR, EAGAIN) use the
 * {@code try*} forms, which return {@code -errno} instead.
 */
public final class Libc {
    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MADV_DONTNEED = 4;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int SIG_BLOCK = 0;
    public static final int SIG_UNBLOCK = 1;
    public static final int SIGUSR1 = 10;
    /** glibc's sigset_t is 1024 bits. */
    public static final long SIGSET_BYTES = 128;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    private static final ThreadLocal<MemorySegment> STATE =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CALL_STATE));

    private static final MethodHandle OPEN = bind("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            CAPTURE, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), CAPTURE);
    private static final MethodHandle IOCTL_PTR = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), CAPTURE, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_LONG = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), CAPTURE, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MMAP = bind("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), CAPTURE);
    private static final MethodHandle MUNMAP = bind("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE);
    private static final MethodHandle MADVISE = bind("madvise",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), CAPTURE);
    private static final MethodHandle EVENTFD = bind("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE);
    private static final MethodHandle READ = bind("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE);
    private static final MethodHandle WRITE = bind("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE);
    private static final MethodHandle PTHREAD_SELF = bind("pthread_self", FunctionDescriptor.of(JAVA_LONG));
    private static final MethodHandle PTHREAD_KILL = bind("pthread_kill", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle PTHREAD_SIGMASK = bind("pthread_sigmask",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SIGTIMEDWAIT = bind("sigtimedwait",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), CAPTURE);
    private static final MethodHandle SIGACTION = bind("sigaction",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), CAPTURE);
    private static final MethodHandle GETTID = bind("gettid", FunctionDescriptor.of(JAVA_INT));

    private Libc() { }

    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment addr = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(addr, fd, options);
    }

    /** The address of a libc function, for use as a native callback (e.g. a do-nothing signal handler). */
    public static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    public static int open(String path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = STATE.get();
            int fd = (int) OPEN.invokeExact(st, a.allocateFrom(path), flags, 0);
            if (fd < 0) {
                throw new SysCallException("open " + path, errno(st));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void close(int fd) {
        try {
            int rc = (int) CLOSE.invokeExact(STATE.get(), fd);
            if (rc < 0) {
                throw new SysCallException("close", errno(STATE.get()));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ioctl with a pointer argument; returns the result or {@code -errno}. */
    public static int tryIoctl(int fd, long request, MemorySegment arg) {
        try {
            MemorySegment st = STATE.get();
            int rc = (int) IOCTL_PTR.invokeExact(st, fd, request, arg);
            return rc < 0 ? -errno(st) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ioctl with an integer argument; returns the result or {@code -errno}. */
    public static int tryIoctl(int fd, long request, long arg) {
        try {
            MemorySegment st = STATE.get();
            int rc = (int) IOCTL_LONG.invokeExact(st, fd, request, arg);
            return rc < 0 ? -errno(st) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int ioctl(String name, int fd, long request, MemorySegment arg) {
        int rc = tryIoctl(fd, request, arg);
        if (rc < 0) {
            throw new SysCallException(name, -rc);
        }
        return rc;
    }

    public static int ioctl(String name, int fd, long request, long arg) {
        int rc = tryIoctl(fd, request, arg);
        if (rc < 0) {
            throw new SysCallException(name, -rc);
        }
        return rc;
    }

    /** mmap; the returned segment has the mapping's size. */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset) {
        try {
            MemorySegment st = STATE.get();
            MemorySegment p = (MemorySegment) MMAP.invokeExact(st, MemorySegment.NULL, length, prot, flags, fd, offset);
            if (p.address() == -1L) {
                throw new SysCallException("mmap", errno(st), length + " bytes");
            }
            return p.reinterpret(length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void munmap(MemorySegment seg) {
        try {
            int rc = (int) MUNMAP.invokeExact(STATE.get(), seg, seg.byteSize());
            if (rc < 0) {
                throw new SysCallException("munmap", errno(STATE.get()));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void madvise(MemorySegment seg, int advice) {
        try {
            int rc = (int) MADVISE.invokeExact(STATE.get(), seg, seg.byteSize(), advice);
            if (rc < 0) {
                throw new SysCallException("madvise", errno(STATE.get()));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Bound on first use: only migration and snapshots ask which pages are resident. */
    private static final class Mincore {
        static final MethodHandle MINCORE = bind("mincore",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS), CAPTURE);
    }

    /** mincore: one byte per page of {@code seg} into {@code vec}, bit 0 set when the page is resident. */
    public static void mincore(MemorySegment seg, MemorySegment vec) {
        try {
            int rc = (int) Mincore.MINCORE.invokeExact(STATE.get(), seg, seg.byteSize(), vec);
            if (rc < 0) {
                throw new SysCallException("mincore", errno(STATE.get()));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int eventfd(int initval, int flags) {
        try {
            int fd = (int) EVENTFD.invokeExact(STATE.get(), initval, flags);
            if (fd < 0) {
                throw new SysCallException("eventfd", errno(STATE.get()));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** read(2); returns bytes read or {@code -errno}. */
    public static long tryRead(int fd, MemorySegment buf, long len) {
        try {
            MemorySegment st = STATE.get();
            long n = (long) READ.invokeExact(st, fd, buf, len);
            return n < 0 ? -errno(st) : n;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** write(2); returns bytes written or {@code -errno}. */
    public static long tryWrite(int fd, MemorySegment buf, long len) {
        try {
            MemorySegment st = STATE.get();
            long n = (long) WRITE.invokeExact(st, fd, buf, len);
            return n < 0 ? -errno(st) : n;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long pthreadSelf() {
        try {
            return (long) PTHREAD_SELF.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** pthread_kill; returns 0 or an error number (it does not set errno). */
    public static int pthreadKill(long thread, int sig) {
        try {
            return (int) PTHREAD_KILL.invokeExact(thread, sig);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void pthreadSigmask(int how, MemorySegment set, MemorySegment old) {
        try {
            int rc = (int) PTHREAD_SIGMASK.invokeExact(how, set, old);
            if (rc != 0) {
                throw new SysCallException("pthread_sigmask", rc);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** sigtimedwait; returns the signal number or {@code -errno} (EAGAIN when none is pending). */
    public static int trySigtimedwait(MemorySegment set, MemorySegment timeout) {
        try {
            MemorySegment st = STATE.get();
            int rc = (int) SIGTIMEDWAIT.invokeExact(st, set, MemorySegment.NULL, timeout);
            return rc < 0 ? -errno(st) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void sigaction(int sig, MemorySegment act, MemorySegment old) {
        try {
            int rc = (int) SIGACTION.invokeExact(STATE.get(), sig, act, old);
            if (rc < 0) {
                throw new SysCallException("sigaction", errno(STATE.get()));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A glibc sigset_t holding the given signals, allocated in the arena. */
    public static MemorySegment sigset(Arena arena, int... signals) {
        MemorySegment set = arena.allocate(SIGSET_BYTES, 8);
        for (int s : signals) {
            long word = set.get(ValueLayout.JAVA_LONG, ((s - 1) / 64) * 8L);
            set.set(ValueLayout.JAVA_LONG, ((s - 1) / 64) * 8L, word | (1L << ((s - 1) % 64)));
        }
        return set;
    }
}
