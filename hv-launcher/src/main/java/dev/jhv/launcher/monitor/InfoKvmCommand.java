package dev.jhv.launcher.monitor;

/** info kvm: jhv always runs on KVM. */
final class InfoKvmCommand implements MonitorCommand {
    @Override
    public String name() {
        return "kvm";
    }

    @Override
    public String help() {
        return "show KVM information";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        ctx.println("kvm support: enabled");
    }
}
