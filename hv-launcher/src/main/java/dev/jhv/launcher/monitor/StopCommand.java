package dev.jhv.launcher.monitor;

import java.util.List;

/** stop: stop emulation. */
final class StopCommand implements MonitorCommand {
    @Override
    public String name() {
        return "stop";
    }

    @Override
    public List<String> aliases() {
        return List.of("s");
    }

    @Override
    public String help() {
        return "stop emulation";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        ctx.machine().stop();
    }
}
