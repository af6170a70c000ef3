package dev.jhv.launcher;

import dev.jhv.core.machine.MachineControl;

/** A built machine as the launcher drives it: start it, wait for its end, take its exit status. */
public interface MachineHandle extends AutoCloseable {
    /** What the monitors act on. */
    MachineControl control();

    /**
     * Starts what may run before the launcher has opened every chardev, without the guest running: with -incoming,
     * reading the stream. {@link #start} does it too if this was not called.
     */
    default void startLoading() { }

    /** Starts the vCPUs, or with -S ({@code config.startPaused()}) stays in prelaunch until "cont". */
    void start();

    /**
     * Blocks until the machine has ended (power-off, "quit", Ctrl-A x, reset with -no-reboot, isa-debug-exit,
     * internal error) and returns the process's exit status: 0 for power-off and quit, (value &lt;&lt; 1) | 1 for
     * isa-debug-exit, 1 for an error.
     */
    int awaitExit() throws InterruptedException;

    /** Adds the monitor commands this machine supports beyond the standard ones (migration, snapshots). */
    default void registerCommands(dev.jhv.launcher.monitor.CommandTable commands) { }

    /** Stops vCPU threads and releases the machine's resources; called once, after awaitExit. */
    @Override
    default void close() { }
}
