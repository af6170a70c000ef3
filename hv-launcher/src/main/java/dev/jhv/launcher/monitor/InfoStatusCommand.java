package dev.jhv.launcher.monitor;

import dev.jhv.core.machine.RunState;

/** info status: "VM status: running", "VM status: paused", "VM status: paused (prelaunch)" as QEMU 7.2 words it. */
final class InfoStatusCommand implements MonitorCommand {
    @Override
    public String name() {
        return "status";
    }

    @Override
    public String help() {
        return "show the current VM status (running|paused)";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        ctx.println(describe(ctx.machine().runState()));
    }

    static String describe(RunState state) {
        if (state.isRunning()) {
            return "VM status: running";
        }
        return state == RunState.PAUSED ? "VM status: paused" : "VM status: paused (" + state.qapiName() + ")";
    }
}
