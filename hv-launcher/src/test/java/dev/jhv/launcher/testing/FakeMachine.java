package dev.jhv.launcher.testing;

import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.machine.MachineControl;
import dev.jhv.core.machine.RunState;
import dev.jhv.core.machine.RunStateListener;
import dev.jhv.launcher.MachineHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** A machine without KVM: run states, stop/cont, counters for reset/powerdown, and an exit the test can trigger. */
public final class FakeMachine implements MachineControl, MachineHandle {
    public final MachineConfig config;
    public final CharBackend com1;
    public final AtomicInteger resets = new AtomicInteger();
    public final AtomicInteger powerdowns = new AtomicInteger();
    public volatile boolean closed;
    /** Runs inside stop(), the way a real machine waits there for its vCPUs to park. */
    public volatile Runnable onStop;
    private final List<RunStateListener> listeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch ended = new CountDownLatch(1);
    /** Counted down by start(), which the launcher calls once the chardevs and monitors are open. */
    public final CountDownLatch started = new CountDownLatch(1);
    /** What the launcher called, in order: "startLoading", "start". */
    public final List<String> calls = new CopyOnWriteArrayList<>();
    private volatile int exitStatus;
    private RunState state = RunState.PRELAUNCH;

    public FakeMachine(dev.jhv.devices.board.BoardConfig config, CharBackend com1) {
        this(config.machine(), com1);
    }

    public FakeMachine(MachineConfig config, CharBackend com1) {
        this.config = config;
        this.com1 = com1;
    }

    @Override
    public MachineControl control() {
        return this;
    }

    @Override
    public void startLoading() {
        calls.add("startLoading");
    }

    @Override
    public void start() {
        calls.add("start");
        if (!config.startPaused()) {
            setState(RunState.RUNNING);
        }
        started.countDown();
    }

    @Override
    public int awaitExit() throws InterruptedException {
        ended.await();
        return exitStatus;
    }

    @Override
    public void close() {
        closed = true;
    }

    /** Ends the machine as the guest would (isa-debug-exit, power-off). */
    public void exit(int status) {
        exitStatus = status;
        setState(RunState.SHUTDOWN);
        ended.countDown();
    }

    @Override
    public synchronized RunState runState() {
        return state;
    }

    private void setState(RunState to) {
        RunState from;
        synchronized (this) {
            from = state;
            state = to;
        }
        for (var l : listeners) {
            l.runStateChanged(from, to);
        }
    }

    @Override
    public void stop() {
        var hook = onStop;
        if (hook != null) {
            hook.run();
        }
        if (runState() == RunState.RUNNING) {
            setState(RunState.PAUSED);
        }
    }

    @Override
    public void cont() {
        switch (runState()) {
            case PAUSED, PRELAUNCH -> setState(RunState.RUNNING);
            case RUNNING -> { }
            default -> throw new IllegalStateException("cannot continue a machine in state " + runState().qapiName());
        }
    }

    @Override
    public void systemReset() {
        resets.incrementAndGet();
    }

    @Override
    public void systemPowerdown() {
        powerdowns.incrementAndGet();
    }

    @Override
    public void quit() {
        exit(0);
    }

    @Override
    public List<CpuInfo> cpus() {
        var list = new ArrayList<CpuInfo>();
        for (int i = 0; i < config.smp().cpus(); i++) {
            list.add(new CpuInfo(i, 1000 + i, 0, false));
        }
        return list;
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public void addRunStateListener(RunStateListener listener) {
        listeners.add(listener);
    }
}
