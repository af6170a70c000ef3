package dev.jhv.core.vcpu;

import dev.jhv.core.bus.IoBus;
import dev.jhv.core.bus.MmioBus;
import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmStructs.Run;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.sys.Errno;
import dev.jhv.core.sys.Libc;

import dev.jhv.core.trace.StartupTrace;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One vCPU: a named platform thread running KVM_RUN and dispatching port I/O and MMIO exits.
 * {@link #pause()} returns only once the thread is out of the kernel and parked.
 */
public final class Vcpu {
    private static final System.Logger LOG = System.getLogger("jhv.vcpu");

    private final int index;
    private final KvmVcpu kvm;
    private final IoBus io;
    private final MmioBus mmio;
    private final VcpuExitHandler handler;
    private final Object lock = new Object();
    private Thread thread;
    private int tid;
    private boolean started;
    private boolean exited;
    private volatile boolean pauseRequested = true; // a new vCPU waits for its first resume()
    private boolean parked;
    private volatile boolean stopRequested;
    private volatile boolean failed;
    private long exits;
    private final CpuThrottle throttle;

    /** @param index the vCPU's number ("CPU #n"); its KVM id is its APIC id */
    public Vcpu(int index, KvmVcpu kvm, IoBus io, MmioBus mmio, VcpuExitHandler handler) {
        this.index = index;
        this.kvm = kvm;
        this.io = io;
        this.mmio = mmio;
        this.handler = handler;
        this.throttle = new CpuThrottle(Integer.toString(index), this::kickForThrottle);
    }

    /** The share of time taken from this vCPU (auto-converge); 0 unless a migration throttles it. */
    public CpuThrottle throttle() {
        return throttle;
    }

    private void kickForThrottle() {
        synchronized (lock) {
            kickLocked();
        }
    }

    public int index() {
        return index;
    }

    public KvmVcpu kvm() {
        return kvm;
    }

    /** The Linux thread id of the vCPU thread (for "info cpus"), 0 before it starts. */
    public int threadId() {
        synchronized (lock) {
            return tid;
        }
    }

    public long exitCount() {
        return exits;
    }

    /**
     * Installs the process-wide handler of the signal that kicks vCPUs out of KVM_RUN. Done on first use anyway;
     * start-up calls it ahead, off the critical path, since binding sigaction through FFM costs milliseconds.
     */
    public static void prepareSignals() {
        Kick.install();
    }

    /** Starts the thread parked; {@link #resume()} lets it run. */
    public void start() {
        synchronized (lock) {
            if (started) {
                return;
            }
            started = true;
            thread = Thread.ofPlatform().name("vcpu-" + index).daemon(true).unstarted(this::loop);
            thread.start();
            // a resume() that comes first lets it run on without ever parking
            while (!parked && !exited && pauseRequested) {
                await();
            }
        }
    }

    public void pause() {
        synchronized (lock) {
            pauseRequested = true;
            if (!started) {
                return;
            }
            kickLocked();
            throttle.wake();
            while (!parked && !exited) {
                await();
            }
        }
    }

    public void resume() {
        synchronized (lock) {
            if (failed) {
                return;
            }
            pauseRequested = false;
            lock.notifyAll();
        }
    }

    public boolean isParked() {
        synchronized (lock) {
            return parked || exited;
        }
    }

    /** Ends the thread and waits for it. */
    public void stop() {
        synchronized (lock) {
            stopRequested = true;
            if (!started) {
                return;
            }
            kickLocked();
            throttle.wake();
            lock.notifyAll();
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void kickLocked() {
        if (tid != 0 && !exited) {
            Kick.send(tid);
        }
    }

    private void await() {
        try {
            lock.wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for vcpu-" + kvm.id());
        }
    }

    private void loop() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = Kick.blockInCurrentThread(arena);
            MemorySegment kickSet = Libc.sigset(arena, Kick.SIGNAL);
            MemorySegment zero = arena.allocate(16, 8);
            kvm.setSignalMaskUnblocking(mask, Kick.SIGNAL);
            synchronized (lock) {
                tid = Libc.gettid();
            }
            try {
                runLoop(kickSet, zero);
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.ERROR, "vcpu-" + kvm.id() + " failed", e);
                failed = true;
                handler.internalError(this, "vcpu " + kvm.id() + ": " + e.getMessage());
            } finally {
                synchronized (lock) {
                    exited = true;
                    parked = true;
                    throttle.set(0);
                    Kick.drain(kickSet, zero); // no kick can come after exited is set
                    lock.notifyAll();
                }
            }
        }
    }

    /** The last KVM_RUN ended in an exit whose completion KVM does on the next KVM_RUN (vCPU thread only). */
    private boolean exitPending;

    private void runLoop(MemorySegment kickSet, MemorySegment zero) {
        MemorySegment run = kvm.runPage();
        while (true) {
            throttle.takeOwedSleep(() -> pauseRequested || stopRequested);
            synchronized (lock) {
                if (stopRequested) {
                    return;
                }
                if (pauseRequested || failed) {
                    if (exitPending && !failed) {
                        completePendingExit();
                    }
                    Kick.drain(kickSet, zero);
                    parked = true;
                    lock.notifyAll();
                    while ((pauseRequested || failed) && !stopRequested) {
                        await();
                    }
                    parked = false;
                    continue;
                }
            }
            int rc = kvm.run();
            exitPending = false;
            if (rc < 0) {
                if (rc == -Errno.EINTR || rc == -Errno.EAGAIN) {
                    Kick.drain(kickSet, zero);
                    continue;
                }
                throw new IllegalStateException("KVM_RUN: " + Errno.name(-rc));
            }
            if (exits++ == 0) {
                StartupTrace.mark("first exit of vcpu " + index);
            }
            handleExit(run);
            exitPending = true;
        }
    }

    /**
     * An I/O or MMIO exit is finished by KVM only on the next KVM_RUN (an IN's data reaches RAX then): before the
     * vCPU parks, and so before anyone reads or writes its state, KVM_RUN runs once with immediate_exit, which
     * completes the operation and returns at once without running the guest (the KVM API's rule for saving state).
     */
    private void completePendingExit() {
        kvm.setImmediateExit(true);
        try {
            int rc = kvm.run();
            if (rc < 0 && rc != -Errno.EINTR && rc != -Errno.EAGAIN) {
                throw new IllegalStateException("KVM_RUN (immediate exit): " + Errno.name(-rc));
            }
        } finally {
            kvm.setImmediateExit(false);
            exitPending = false;
        }
    }

    private void handleExit(MemorySegment run) {
        int reason = run.get(ValueLayout.JAVA_INT, Run.EXIT_REASON);
        switch (reason) {
            case KvmIoctls.EXIT_IO -> handleIo(run);
            case KvmIoctls.EXIT_MMIO -> handleMmio(run);
            case KvmIoctls.EXIT_INTR, KvmIoctls.EXIT_HLT, KvmIoctls.EXIT_IRQ_WINDOW_OPEN -> { }
            case KvmIoctls.EXIT_SHUTDOWN -> handler.resetRequested(this, "triple fault");
            case KvmIoctls.EXIT_SYSTEM_EVENT -> {
                int type = run.get(ValueLayout.JAVA_INT, Run.SYSTEM_EVENT_TYPE);
                switch (type) {
                    case KvmIoctls.SYSTEM_EVENT_SHUTDOWN -> handler.shutdownRequested(this);
                    case KvmIoctls.SYSTEM_EVENT_RESET -> handler.resetRequested(this, "reset event");
                    default -> fail(String.format("guest crashed (system event %d)", type));
                }
            }
            case KvmIoctls.EXIT_INTERNAL_ERROR -> {
                int sub = run.get(ValueLayout.JAVA_INT, Run.INTERNAL_SUBERROR);
                int n = Math.min(run.get(ValueLayout.JAVA_INT, Run.INTERNAL_NDATA), 16);
                StringBuilder sb = new StringBuilder("KVM internal error. Suberror: " + sub);
                for (int i = 0; i < n; i++) {
                    sb.append(String.format(" extra data[%d]: 0x%016x", i,
                            run.get(ValueLayout.JAVA_LONG, Run.INTERNAL_DATA + 8L * i)));
                }
                fail(sb.toString());
            }
            case KvmIoctls.EXIT_FAIL_ENTRY -> fail(String.format(
                    "KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x%x",
                    run.get(ValueLayout.JAVA_LONG, Run.FAIL_ENTRY_REASON)));
            case KvmIoctls.EXIT_UNKNOWN -> fail(String.format("KVM_EXIT_UNKNOWN: hardware exit reason 0x%x",
                    run.get(ValueLayout.JAVA_LONG, Run.HW_EXIT_REASON)));
            default -> fail("unhandled KVM exit reason " + reason);
        }
    }

    private void fail(String message) {
        failed = true;
        handler.internalError(this, message);
    }

    private void handleIo(MemorySegment run) {
        boolean out = run.get(ValueLayout.JAVA_BYTE, Run.IO_DIRECTION) == 1;
        int size = run.get(ValueLayout.JAVA_BYTE, Run.IO_SIZE);
        int port = Short.toUnsignedInt(run.get(ValueLayout.JAVA_SHORT, Run.IO_PORT));
        int count = run.get(ValueLayout.JAVA_INT, Run.IO_COUNT);
        long data = run.get(ValueLayout.JAVA_LONG, Run.IO_DATA_OFFSET);
        for (int i = 0; i < count; i++) {
            long at = data + (long) i * size;
            if (out) {
                io.write(port, size, load(run, at, size));
            } else {
                store(run, at, size, io.read(port, size));
            }
        }
    }

    private void handleMmio(MemorySegment run) {
        long addr = run.get(ValueLayout.JAVA_LONG, Run.MMIO_PHYS_ADDR);
        int len = run.get(ValueLayout.JAVA_INT, Run.MMIO_LEN);
        boolean write = run.get(ValueLayout.JAVA_BYTE, Run.MMIO_IS_WRITE) != 0;
        if (len != 1 && len != 2 && len != 4 && len != 8) {
            return;
        }
        if (write) {
            mmio.write(addr, len, load(run, Run.MMIO_DATA, len));
        } else {
            store(run, Run.MMIO_DATA, len, mmio.read(addr, len));
        }
    }

    private static long load(MemorySegment run, long at, int size) {
        return switch (size) {
            case 1 -> Byte.toUnsignedLong(run.get(ValueLayout.JAVA_BYTE, at));
            case 2 -> Short.toUnsignedLong(run.get(ValueLayout.JAVA_SHORT_UNALIGNED, at));
            case 4 -> Integer.toUnsignedLong(run.get(ValueLayout.JAVA_INT_UNALIGNED, at));
            default -> run.get(ValueLayout.JAVA_LONG_UNALIGNED, at);
        };
    }

    private static void store(MemorySegment run, long at, int size, long v) {
        switch (size) {
            case 1 -> run.set(ValueLayout.JAVA_BYTE, at, (byte) v);
            case 2 -> run.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, (short) v);
            case 4 -> run.set(ValueLayout.JAVA_INT_UNALIGNED, at, (int) v);
            default -> run.set(ValueLayout.JAVA_LONG_UNALIGNED, at, v);
        }
    }
}
