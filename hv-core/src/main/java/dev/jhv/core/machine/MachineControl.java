package dev.jhv.core.machine;

import java.util.List;

/** What a monitor may do to a machine. Implemented by the machine; used by HMP and QMP. */
public interface MachineControl {
    /** One vCPU as "info cpus" shows it. */
    record CpuInfo(int index, long threadId, long pc, boolean halted) { }

    RunState runState();

    /** Why a save, a migration or a snapshot load is refused while an incoming stream loads (QEMU's words). */
    String INCOMING_IN_PROGRESS = "Guest is waiting for an incoming migration";

    /** Refuses to act while the machine is the destination of an incoming migration that is still loading. */
    default void requireNotIncoming() {
        if (runState() == RunState.INMIGRATE) {
            throw new IllegalStateException(INCOMING_IN_PROGRESS);
        }
    }

    /** Pauses all vCPUs ("stop"); returns once every vCPU is parked. */
    void stop();

    /** Resumes after "stop" or -S ("cont"). Throws IllegalStateException with a user message when not possible. */
    void cont();

    void systemReset();

    /** Raises the ACPI power button event. */
    void systemPowerdown();

    /** Ends the process's machine ("quit"); the launcher exits. */
    void quit();

    List<CpuInfo> cpus();

    /** The -name given, or null. */
    String name();

    void addRunStateListener(RunStateListener listener);

    /** Shutdown, reset and power button events (QMP reports them); a machine without them ignores the listener. */
    default void addEventListener(MachineEvent.Listener listener) { }
}
