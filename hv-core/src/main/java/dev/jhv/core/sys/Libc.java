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
    public static final int O_NONBLOCK = 0x800;
    public static final short POLLIN = 0x001;
    public static final short POLLPRI = 0x002;
    public static final short POLLOUT = 0x004;
    public static final short POLLERR = 0x008;
    public static final short POLLHUP = 0x010;
    /** struct pollfd: int fd, short events, short revents; 8 bytes. */
    public static final long POLLFD_BYTES = 8;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_HUGEPAGE = 14;
    /** Frees a range of shared memory (shmem): the next access finds the page missing (userfaultfd reports it). */
    public static final int MADV_REMOVE = 9;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int SIG_BLOCK = 0;
    public static final int SIG_UNBLOCK = 1;
    public static final int SIGUSR1 = 10;
    public static final int SEEK_DATA = 3;
    public static final int SEEK_HOLE = 4;
    public static final int F_SETPIPE_SZ = 1031;
    public static final int F_GETPIPE_SZ = 1032;
    /** Open-file-description locks: owned by the open file, not the process, so closing another fd keeps them. */
    public static final int F_OFD_GETLK = 36;
    public static final int F_OFD_SETLK = 37;
    public static final short F_RDLCK = 0;
    public static final short F_WRLCK = 1;
    public static final short F_UNLCK = 2;
    private static final short SEEK_SET = 0;

    /** struct flock on x86-64: offsets 0, 2, 8, 16, 24; 32 bytes with the tail padding. */
    public static final StructLayout FLOCK = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("l_type"),
            ValueLayout.JAVA_SHORT.withName("l_whence"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("l_start"),
            JAVA_LONG.withName("l_len"),
            JAVA_INT.withName("l_pid"),
            MemoryLayout.paddingLayout(4));
    private static final VarHandle FLOCK_TYPE = FLOCK.varHandle(MemoryLayout.PathElement.groupElement("l_type"));
    private static final VarHandle FLOCK_WHENCE = FLOCK.varHandle(MemoryLayout.PathElement.groupElement("l_whence"));
    private static final VarHandle FLOCK_START = FLOCK.varHandle(MemoryLayout.PathElement.groupElement("l_start"));
    private static final VarHandle FLOCK_LEN = FLOCK.varHandle(MemoryLayout.PathElement.groupElement("l_len"));
    /** glibc's sigset_t is 1024 bits. */
    public static final long SIGSET_BYTES = 128;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    private static final ThreadLocal<MemorySegment> STATE =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CALL_STATE));

    /**
     * libc's {@code syscall(2)}: every call below but sigaction goes through this one handle. Each FFM downcall
     * handle costs milliseconds to generate at start-up, and a VMM needs a dozen calls that are all plain system
     * calls (x86-64 numbers below); unused trailing arguments are ignored by the kernel.
     */
    private static final MethodHandle SYSCALL = bind("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), CAPTURE, Linker.Option.firstVariadicArg(1));

    private static final long SYS_READ = 0;
    private static final long SYS_WRITE = 1;
    private static final long SYS_CLOSE = 3;
    private static final long SYS_POLL = 7;
    private static final long SYS_LSEEK = 8;
    private static final long SYS_MMAP = 9;
    private static final long SYS_MUNMAP = 11;
    private static final long SYS_RT_SIGPROCMASK = 14;
    private static final long SYS_IOCTL = 16;
    private static final long SYS_MINCORE = 27;
    private static final long SYS_FCNTL = 72;
    private static final long SYS_MADVISE = 28;
    private static final long SYS_GETPID = 39;
    private static final long SYS_SHUTDOWN = 48;
    private static final long SYS_RT_SIGTIMEDWAIT = 128;
    private static final long SYS_SETPRIORITY = 141;
    private static final long SYS_GETTID = 186;
    private static final long SYS_TGKILL = 234;
    private static final long SYS_OPENAT = 257;
    private static final long SYS_EVENTFD2 = 290;
    private static final long SYS_PIPE2 = 293;
    private static final long SYS_EPOLL_WAIT = 232;
    private static final long SYS_EPOLL_CTL = 233;
    private static final long SYS_EPOLL_CREATE1 = 291;
    private static final long SYS_USERFAULTFD = 323;
    private static final long SYS_IO_URING_SETUP = 425;
    private static final long SYS_IO_URING_ENTER = 426;
    private static final long AT_FDCWD = -100;
    private static final long PRIO_PROCESS = 0;
    /** The kernel's sigset_t is 64 bits on x86-64 (glibc's 1024-bit one starts with the same word). */
    private static final long KERNEL_SIGSET_BYTES = 8;

    /** sigaction stays a libc call: the raw rt_sigaction needs a restorer trampoline that libc supplies. */
    private static final class Sigaction {
        static final MethodHandle SIGACTION = bind("sigaction",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), CAPTURE);
    }

    /** strerror is bound on first use: only error paths need it. */
    private static final class Strerror {
        static final MethodHandle STRERROR = bind("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    private Libc() { }

    /** libc's text for an errno ("Operation not permitted"), as QEMU prints it in its error lines. */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) Strerror.STRERROR.invokeExact(errno);
            return s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

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

    /** One system call; returns its result, or {@code -errno} when it failed. */
    private static long sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        try {
            MemorySegment st = STATE.get();
            long rc = (long) SYSCALL.invokeExact(st, nr, a1, a2, a3, a4, a5, a6);
            return rc == -1 ? -errno(st) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static long sys(long nr, long a1, long a2, long a3, long a4) {
        return sys(nr, a1, a2, a3, a4, 0, 0);
    }

    private static long check(String name, long rc) {
        if (rc < 0) {
            throw new SysCallException(name, (int) -rc);
        }
        return rc;
    }

    /** A raw pointer for the kernel: only native memory, and only while its arena is open. */
    private static long addr(MemorySegment seg) {
        if (!seg.isNative() || !seg.scope().isAlive()) {
            throw new IllegalArgumentException("not live native memory: " + seg);
        }
        return seg.address();
    }

    /** This process's id, for tgkill (jhv never forks). */
    private static final class Pid {
        static final long PID = sys(SYS_GETPID, 0, 0, 0, 0);
    }

    public static int open(String path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            long fd = sys(SYS_OPENAT, AT_FDCWD, addr(a.allocateFrom(path)), flags, 0);
            if (fd < 0) {
                throw new SysCallException("open " + path, (int) -fd);
            }
            return (int) fd;
        }
    }

    /** userfaultfd(2): a new userfaultfd, or {@code -errno} (EPERM without CAP_SYS_PTRACE and the sysctl at 0). */
    public static int tryUserfaultfd(int flags) {
        return (int) sys(SYS_USERFAULTFD, flags, 0, 0, 0);
    }

    /** io_uring_setup(2): the ring's fd, or {@code -errno} (ENOSYS, EPERM where io_uring is disabled). */
    public static int tryIoUringSetup(int entries, MemorySegment params) {
        return (int) sys(SYS_IO_URING_SETUP, entries, addr(params), 0, 0);
    }

    /** io_uring_enter(2) without a signal mask: how many were submitted, or {@code -errno}. */
    public static int tryIoUringEnter(int fd, int toSubmit, int minComplete, int flags) {
        return (int) sys(SYS_IO_URING_ENTER, fd, toSubmit, minComplete, flags, 0, 0);
    }

    public static void close(int fd) {
        check("close", sys(SYS_CLOSE, fd, 0, 0, 0));
    }

    /** ioctl with a pointer argument; returns the result or {@code -errno}. */
    public static int tryIoctl(int fd, long request, MemorySegment arg) {
        return (int) sys(SYS_IOCTL, fd, request, addr(arg), 0);
    }

    /** ioctl with an integer argument; returns the result or {@code -errno}. */
    public static int tryIoctl(int fd, long request, long arg) {
        return (int) sys(SYS_IOCTL, fd, request, arg, 0);
    }

    public static int ioctl(String name, int fd, long request, MemorySegment arg) {
        return (int) check(name, tryIoctl(fd, request, arg));
    }

    public static int ioctl(String name, int fd, long request, long arg) {
        return (int) check(name, tryIoctl(fd, request, arg));
    }

    /** mmap; the returned segment has the mapping's size. */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset) {
        long p = sys(SYS_MMAP, 0, length, prot, flags, fd, offset);
        if (p < 0 && p > -4096) {
            throw new SysCallException("mmap", (int) -p, length + " bytes");
        }
        return MemorySegment.ofAddress(p).reinterpret(length);
    }

    public static void munmap(MemorySegment seg) {
        check("munmap", sys(SYS_MUNMAP, addr(seg), seg.byteSize(), 0, 0));
    }

    /** madvise; returns 0 or {@code -errno} (advice a kernel may not support). */
    public static int tryMadvise(MemorySegment seg, int advice) {
        return (int) sys(SYS_MADVISE, addr(seg), seg.byteSize(), advice, 0);
    }

    public static void madvise(MemorySegment seg, int advice) {
        check("madvise", tryMadvise(seg, advice));
    }

    /** mincore: one byte per page of {@code seg} into {@code vec}, bit 0 set when the page is resident. */
    public static void mincore(MemorySegment seg, MemorySegment vec) {
        check("mincore", sys(SYS_MINCORE, addr(seg), seg.byteSize(), addr(vec), 0));
    }

    /** pipe2(2): {read end, write end}. */
    public static int[] pipe2(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(JAVA_INT, 2);
            check("pipe2", sys(SYS_PIPE2, addr(fds), flags, 0, 0));
            return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
        }
    }

    /** lseek(2); returns the new offset or {@code -errno} (SEEK_DATA/SEEK_HOLE: -ENXIO past the last data). */
    public static long tryLseek(int fd, long offset, int whence) {
        return sys(SYS_LSEEK, fd, offset, whence, 0);
    }

    /** setpriority(PRIO_PROCESS, tid, nice) for one thread; returns 0 or {@code -errno}. */
    public static int trySetThreadNice(long tid, int nice) {
        return (int) sys(SYS_SETPRIORITY, PRIO_PROCESS, tid, nice, 0);
    }

    /** fcntl(2) with an integer argument; returns its result or {@code -errno}. */
    public static int tryFcntl(int fd, int cmd, long arg) {
        return (int) sys(SYS_FCNTL, fd, cmd, arg, 0);
    }

    /** fcntl(2) with a pointer argument (struct flock); returns its result or {@code -errno}. */
    public static int tryFcntl(int fd, int cmd, MemorySegment arg) {
        return (int) sys(SYS_FCNTL, fd, cmd, addr(arg), 0);
    }

    /**
     * Sets ({@code F_RDLCK}, {@code F_WRLCK}) or drops ({@code F_UNLCK}) an OFD lock on {@code [start, start+len)}
     * without waiting; returns 0 or {@code -errno} (EAGAIN: another open file holds a conflicting lock).
     */
    public static int tryOfdSetLock(int fd, short type, long start, long len) {
        try (Arena a = Arena.ofConfined()) {
            return tryFcntl(fd, F_OFD_SETLK, flock(a, type, start, len));
        }
    }

    /**
     * Which lock another open file description holds that would conflict with a lock of {@code type} on
     * {@code [start, start+len)}: {@code F_RDLCK}, {@code F_WRLCK}, {@code F_UNLCK} for none, or {@code -errno}.
     * This description's own locks never conflict with it.
     */
    public static int tryOfdGetLock(int fd, short type, long start, long len) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fl = flock(a, type, start, len);
            int rc = tryFcntl(fd, F_OFD_GETLK, fl);
            return rc < 0 ? rc : (short) FLOCK_TYPE.get(fl, 0L);
        }
    }

    private static MemorySegment flock(Arena a, short type, long start, long len) {
        MemorySegment fl = a.allocate(FLOCK);
        FLOCK_TYPE.set(fl, 0L, type);
        FLOCK_WHENCE.set(fl, 0L, SEEK_SET);
        FLOCK_START.set(fl, 0L, start);
        FLOCK_LEN.set(fl, 0L, len);
        return fl;   // l_pid stays 0: OFD locks require it
    }

    public static int eventfd(int initval, int flags) {
        return (int) check("eventfd", sys(SYS_EVENTFD2, initval, flags, 0, 0));
    }

    /** epoll_create1(flags): a new epoll instance. */
    public static int epollCreate1(int flags) {
        return (int) check("epoll_create1", sys(SYS_EPOLL_CREATE1, flags, 0, 0, 0));
    }

    /** epoll_ctl(epfd, op, fd, event); returns 0 or -errno. */
    public static int tryEpollCtl(int epfd, int op, int fd, MemorySegment event) {
        return (int) sys(SYS_EPOLL_CTL, epfd, op, fd, event == null ? 0 : addr(event));
    }

    /** epoll_wait(epfd, events, max, timeoutMs); returns the count or -errno (EINTR). */
    public static int tryEpollWait(int epfd, MemorySegment events, int max, int timeoutMs) {
        return (int) sys(SYS_EPOLL_WAIT, epfd, addr(events), max, timeoutMs);
    }

    /**
     * poll(2) on {@code count} struct pollfd at the start of {@code fds} (see {@link #POLLFD_BYTES}); returns the
     * number of ready entries or {@code -errno} (EINTR).
     */
    public static int tryPoll(MemorySegment fds, int count, int timeoutMs) {
        if (fds.byteSize() < count * POLLFD_BYTES) {
            throw new IllegalArgumentException(count + " pollfd do not fit in " + fds.byteSize() + " bytes");
        }
        return (int) sys(SYS_POLL, addr(fds), count, timeoutMs, 0);
    }

    /** read(2); returns bytes read or {@code -errno}. */
    public static long tryRead(int fd, MemorySegment buf, long len) {
        return sys(SYS_READ, fd, addr(buf), len, 0);
    }

    /** write(2); returns bytes written or {@code -errno}. */
    public static long tryWrite(int fd, MemorySegment buf, long len) {
        return sys(SYS_WRITE, fd, addr(buf), len, 0);
    }

    /** shutdown(2) of a socket: SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2; wakes a read or write blocked on it. */
    public static final int SHUT_RDWR = 2;

    /** shutdown(2); returns 0 or {@code -errno}. */
    public static int tryShutdown(int fd, int how) {
        return (int) sys(SYS_SHUTDOWN, fd, how, 0, 0);
    }

    /** The calling thread's kernel thread id. */
    public static int gettid() {
        return (int) sys(SYS_GETTID, 0, 0, 0, 0);
    }

    /** Sends a signal to one thread of this process; returns 0 or {@code -errno}. */
    public static int tgkill(int tid, int sig) {
        return (int) sys(SYS_TGKILL, Pid.PID, tid, sig, 0);
    }

    /** The calling thread's signal mask (how: SIG_BLOCK, SIG_UNBLOCK); {@code set} or {@code old} may be NULL. */
    public static void pthreadSigmask(int how, MemorySegment set, MemorySegment old) {
        check("pthread_sigmask", sys(SYS_RT_SIGPROCMASK, how, addr(set), addr(old), KERNEL_SIGSET_BYTES));
    }

    /** sigtimedwait; returns the signal number or {@code -errno} (EAGAIN when none is pending). */
    public static int trySigtimedwait(MemorySegment set, MemorySegment timeout) {
        return (int) sys(SYS_RT_SIGTIMEDWAIT, addr(set), 0, addr(timeout), KERNEL_SIGSET_BYTES);
    }

    public static void sigaction(int sig, MemorySegment act, MemorySegment old) {
        try {
            int rc = (int) Sigaction.SIGACTION.invokeExact(STATE.get(), sig, act, old);
            if (rc < 0) {
                throw new SysCallException("sigaction", errno(STATE.get()));
            }
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
