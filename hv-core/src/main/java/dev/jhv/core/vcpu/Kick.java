package dev.jhv.core.vcpu;

import dev.jhv.core.sys.Errno;
import dev.jhv.core.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Getting a vCPU thread out of KVM_RUN. SIGUSR1 stays blocked in the vCPU thread except inside KVM_RUN
 * (KVM_SET_SIGNAL_MASK), so a kick sent at any moment either ends KVM_RUN or stays pending and ends the
 * next one at once: no kick is lost. The pending signal is then drained with sigtimedwait, never delivered.
 * The process-wide handler is libc's {@code abs}, a native function that does nothing harmful when called
 * with a signal number: a Java upcall as a signal handler would abort the JVM.
 */
final class Kick {
    static final int SIGNAL = Libc.SIGUSR1;
    private static final long SIGACTION_SIZE = 152; // glibc x86-64: handler, 128-byte mask, flags, restorer

    static {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment act = a.allocate(SIGACTION_SIZE, 8);
            act.set(ValueLayout.ADDRESS, 0, Libc.symbol("abs"));
            Libc.sigaction(SIGNAL, act, MemorySegment.NULL);
        }
    }

    private Kick() { }

    /** Nothing but the class's initialization, which installs the handler once. */
    static void install() { }

    /** Blocks the kick signal in the calling thread; returns the thread's mask for KVM_SET_SIGNAL_MASK. */
    static MemorySegment blockInCurrentThread(Arena arena) {
        MemorySegment set = Libc.sigset(arena, SIGNAL);
        MemorySegment old = arena.allocate(Libc.SIGSET_BYTES, 8);
        Libc.pthreadSigmask(Libc.SIG_BLOCK, set, old);
        MemorySegment now = arena.allocate(Libc.SIGSET_BYTES, 8);
        Libc.pthreadSigmask(Libc.SIG_BLOCK, MemorySegment.NULL, now);
        return now;
    }

    /** Sends the kick to a thread (its kernel thread id). */
    static void send(int tid) {
        int rc = Libc.tgkill(tid, SIGNAL);
        if (rc != 0) {
            throw new IllegalStateException("tgkill: " + Errno.name(-rc));
        }
    }

    /** Consumes a pending kick in the calling thread, if any. */
    static void drain(MemorySegment set, MemorySegment zeroTimeout) {
        while (Libc.trySigtimedwait(set, zeroTimeout) == SIGNAL) {
            // consumed one; loop in case of a second (cannot queue, but be safe)
        }
    }
}
