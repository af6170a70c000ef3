package dev.jhv.launcher.monitor;

/** info name: the -name given; nothing when there is none (as QEMU). */
final class InfoNameCommand implements MonitorCommand {
    @Override
    public String name() {
        return "name";
    }

    @Override
    public String help() {
        return "show the current VM name";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        String name = ctx.machine().name();
        if (name != null) {
            ctx.println(name);
        }
    }
}
