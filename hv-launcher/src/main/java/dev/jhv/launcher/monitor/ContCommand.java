package dev.jhv.launcher.monitor;

import java.util.List;

/** cont: resume emulation. */
final class ContCommand implements MonitorCommand {
    @Override
    public String name() {
        return "cont";
    }

    @Override
    public List<String> aliases() {
        return List.of("c");
    }

    @Override
    public String help() {
        return "resume emulation";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        ctx.machine().cont();
    }
}
