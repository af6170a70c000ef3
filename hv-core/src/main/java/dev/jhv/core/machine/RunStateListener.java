package dev.jhv.core.machine;

/** Notified after the machine changes run state. */
@FunctionalInterface
public interface RunStateListener {
    void runStateChanged(RunState from, RunState to);
}
