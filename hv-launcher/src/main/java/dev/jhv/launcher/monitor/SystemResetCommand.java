package dev.jhv.launcher.monitor;

import java.util.List;

/** system_reset: reset the system. */
final class SystemResetCommand implements MonitorCommand {
    @Override
    public String name() {
        return "system_reset";
    }

    @Override
    public List<String> aliases() {
        return List.of();
    }

    @Override
    public String help() {
        return "reset the system";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        ctx.machine().systemReset();
    }
}
