package dev.jhv.launcher.command;

/** query-kvm / info kvm: jhv always runs on KVM. */
public record KvmInfo(boolean enabled, boolean present) {
    public String hmpText() {
        return "kvm support: " + (enabled ? "enabled" : present ? "disabled" : "not compiled") + "\n";
    }
}
