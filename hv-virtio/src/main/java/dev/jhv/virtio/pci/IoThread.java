package dev.jhv.virtio.pci;

import dev.jhv.core.kvm.IoEventFd;
import dev.jhv.core.sys.Epoll;
import dev.jhv.core.sys.EventFd;

import java.util.BitSet;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;

/**
 * A virtio device's own thread: waits with epoll on the queues' ioeventfds and a wake eventfd, runs the tasks
 * handed to it (completions, the transport's reset and activation), and tells the transport which queues were
 * notified. While paused it takes no notification (they are kept and looked at on resume).
 */
final class IoThread implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(IoThread.class.getName());
    private static final int WAKE = 0;
    private static final int LEGACY = 0x10000;
    /** How long a caller waits for the thread to run its task before giving up (the thread is stuck). */
    private static final long WAIT_SECONDS = 30;

    private final VirtioPciFunction<?> function;
    private final Thread thread;
    private final Epoll epoll = new Epoll();
    private final EventFd wake = EventFd.create(true);
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Map<Integer, IoEventFd> doorbells = new ConcurrentHashMap<>();
    /** Queues rung by an exiting write, not yet handed on (guarded by itself). */
    private final BitSet rung = new BitSet();
    private volatile boolean paused;
    private volatile boolean stopping;

    IoThread(String name, VirtioPciFunction<?> function) {
        this.function = function;
        epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE);
        thread = Thread.ofPlatform().name(name).daemon().unstarted(this::run);
        thread.start();
    }

    String name() {
        return thread.getName();
    }

    private void run() {
        BitSet notified = new BitSet();
        while (!stopping) {
            Epoll.Ready ready;
            try {
                ready = epoll.await(-1);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, name() + ": epoll failed, the device stops", e);
                return;
            }
            for (int i = 0; i < ready.count(); i++) {
                int token = ready.token(i);
                if (token == WAKE) {
                    wake.read();
                    continue;
                }
                IoEventFd fd = doorbells.get(token);
                if (fd != null) {
                    try {
                        fd.event().read();
                    } catch (RuntimeException e) {
                        continue; // replaced while we looked: the new one is registered already
                    }
                    notified.set((token - 1) & (LEGACY - 1));
                }
            }
            // a queue rung before a task was handed over is served before that task runs (so a pause returns
            // with the notifications rung before it served)
            for (Runnable t; (t = tasks.poll()) != null; ) {
                serve(notified);
                runTask(t);
            }
            serve(notified);
        }
    }

    /** Hands the notified queues (and those rung by register writes) to the transport, unless paused. */
    private void serve(BitSet notified) {
        synchronized (rung) {
            notified.or(rung);
            rung.clear();
        }
        if (!paused) {
            for (int q = notified.nextSetBit(0); q >= 0; q = notified.nextSetBit(q + 1)) {
                function.notified(q);
            }
            notified.clear();
        }
    }

    private void runTask(Runnable t) {
        try {
            t.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, name() + ": a task failed", e);
        }
    }

    /** Runs {@code task} on the thread, soon. */
    void execute(Runnable task) {
        tasks.add(task);
        wake.signal();
    }

    /** A queue notification that arrived through a register write. */
    void ring(int q) {
        synchronized (rung) {
            rung.set(q);
        }
        wake.signal();
    }

    /** Runs {@code task} on the thread and waits for it (on the thread itself, or once stopped: runs it here). */
    void runAndWait(Runnable task) {
        if (Thread.currentThread() == thread || stopping || !thread.isAlive()) {
            task.run();
            return;
        }
        var f = new FutureTask<Void>(task, null);
        execute(f);
        try {
            f.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(name() + " did not answer in " + WAIT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(name() + ": interrupted while waiting", e);
        }
    }

    /**
     * Drops the modern ({@code legacy} false) or legacy doorbells and registers {@code count} new ones from
     * {@code make} (null: none, the BAR does not decode). A doorbell that cannot be registered is logged: its
     * notifications exit and reach the registers instead.
     */
    void replaceDoorbells(boolean legacy, IntFunction<IoEventFd> make, int count) {
        int base = 1 + (legacy ? LEGACY : 0);
        for (int q = 0; q < count; q++) {
            IoEventFd old = doorbells.remove(base + q);
            if (old != null) {
                try {
                    epoll.remove(old.event().fd());
                } finally {
                    old.close();
                }
            }
        }
        if (make == null) {
            return;
        }
        for (int q = 0; q < count; q++) {
            try {
                IoEventFd fd = make.apply(q);
                doorbells.put(base + q, fd);
                epoll.add(fd.event().fd(), Epoll.EPOLLIN, base + q);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, name() + ": no ioeventfd for queue " + q + " ("
                        + e.getMessage() + "); its notifications take the slow path");
            }
            ring(q); // a notification may have gone nowhere while the doorbell moved
        }
    }

    /** Stops taking notifications; when this returns the thread is not inside the device. */
    void pause() {
        runAndWait(() -> paused = true);
    }

    void resume() {
        paused = false;
        execute(function::notifyEnabledQueues);
    }

    boolean paused() {
        return paused;
    }

    @Override
    public void close() {
        if (stopping) {
            return;
        }
        stopping = true;
        wake.signal();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (IoEventFd fd : doorbells.values()) {
            fd.close();
        }
        doorbells.clear();
        if (!thread.isAlive()) {
            epoll.close();
            wake.close();
        }
    }
}
