package dev.jhv.core.vcpu;

/** What a vCPU reports to its machine; called on the vCPU thread, which must not block on machine control. */
public interface VcpuExitHandler {
    /** The guest asked for a reset (triple fault or a reset system event). */
    void resetRequested(Vcpu vcpu, String why);

    /** The guest asked to power off (a shutdown system event). */
    void shutdownRequested(Vcpu vcpu);

    /** KVM could not run the guest; the vCPU parks after this. */
    void internalError(Vcpu vcpu, String message);
}
