package dev.jhv.launcher.monitor;

import dev.jhv.launcher.cli.Version;

/** info version: the bare version number, as QEMU prints its own. */
final class InfoVersionCommand implements MonitorCommand {
    @Override
    public String name() {
        return "version";
    }

    @Override
    public String help() {
        return "show the version of jhv";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        ctx.println(Version.VERSION);
    }
}
