package dev.jhv.launcher.monitor;

import java.util.List;

/** quit: quit the emulator. */
final class QuitCommand implements MonitorCommand {
    @Override
    public String name() {
        return "quit";
    }

    @Override
    public List<String> aliases() {
        return List.of("q");
    }

    @Override
    public String help() {
        return "quit the emulator";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        ctx.machine().quit();
    }
}
