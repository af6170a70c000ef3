package dev.jhv.launcher.command;

import dev.jhv.core.machine.RunState;

/** query-status / info status. */
public record StatusInfo(boolean running, boolean singlestep, String status) {
    public static StatusInfo of(RunState state) {
        return new StatusInfo(state.isRunning(), false, state.qapiName());
    }

    /** "VM status: running", "VM status: paused", "VM status: paused (prelaunch)" as QEMU 7.2 words it. */
    public String hmpText() {
        if (running) {
            return "VM status: running\n";
        }
        return status.equals("paused") ? "VM status: paused\n" : "VM status: paused (" + status + ")\n";
    }
}
