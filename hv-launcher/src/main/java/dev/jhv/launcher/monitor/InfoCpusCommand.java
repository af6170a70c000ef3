package dev.jhv.launcher.monitor;

/** info cpus: one line per vCPU, "* CPU #0: thread_id=1234", the star on the monitor's current CPU (#0). */
final class InfoCpusCommand implements MonitorCommand {
    @Override
    public String name() {
        return "cpus";
    }

    @Override
    public String help() {
        return "show infos for each CPU";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        for (var cpu : ctx.machine().cpus()) {
            ctx.println((cpu.index() == 0 ? "*" : " ") + " CPU #" + cpu.index() + ": thread_id=" + cpu.threadId());
        }
    }
}
