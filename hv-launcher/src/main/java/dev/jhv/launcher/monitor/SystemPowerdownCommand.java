package dev.jhv.launcher.monitor;

import java.util.List;

/** system_powerdown: send system power down event. */
final class SystemPowerdownCommand implements MonitorCommand {
    @Override
    public String name() {
        return "system_powerdown";
    }

    @Override
    public List<String> aliases() {
        return List.of();
    }

    @Override
    public String help() {
        return "send system power down event";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        ctx.machine().systemPowerdown();
    }
}
