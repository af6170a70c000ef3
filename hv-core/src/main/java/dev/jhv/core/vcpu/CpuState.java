package dev.jhv.core.vcpu;

import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.Regs;
import dev.jhv.core.kvm.Sregs;

/**
 * The whole architectural state of one vCPU as KVM reports it, got and set as one piece.
 * The kernel structures are kept as their raw bytes (their layout is the stable x86-64 KVM ABI).
 */
public record CpuState(byte[] regs, byte[] sregs, byte[] xsave, byte[] xcrs, int[] msrIndices, long[] msrValues,
                       byte[] events, int mpState, byte[] lapic, byte[] debugRegs) {

    /** Reads the state of a vCPU that is not running. */
    public static CpuState read(KvmVcpu v, int[] msrIndices) {
        return new CpuState(
                v.getRegs().raw(),
                v.getSregs().raw(),
                v.get("KVM_GET_XSAVE", KvmIoctls.GET_XSAVE, KvmStructs.XSAVE.byteSize()),
                v.get("KVM_GET_XCRS", KvmIoctls.GET_XCRS, KvmStructs.XCRS.byteSize()),
                msrIndices.clone(),
                v.getMsrs(msrIndices),
                v.get("KVM_GET_VCPU_EVENTS", KvmIoctls.GET_VCPU_EVENTS, KvmStructs.VCPU_EVENTS.byteSize()),
                v.getMpState(),
                v.getLapic(),
                v.get("KVM_GET_DEBUGREGS", KvmIoctls.GET_DEBUGREGS, KvmStructs.DEBUGREGS.byteSize()));
    }

    /** Writes the state into a vCPU that is not running, in the order KVM needs (sregs before MSRs and LAPIC). */
    public void write(KvmVcpu v) {
        v.setRegs(new Regs(regs.clone()));
        v.set("KVM_SET_XSAVE", KvmIoctls.SET_XSAVE, xsave);
        v.set("KVM_SET_XCRS", KvmIoctls.SET_XCRS, xcrs);
        v.setSregs(new Sregs(sregs.clone()));
        v.setMsrs(msrIndices, msrValues);
        v.set("KVM_SET_VCPU_EVENTS", KvmIoctls.SET_VCPU_EVENTS, events);
        v.setMpState(mpState);
        v.setLapic(lapic);
        v.set("KVM_SET_DEBUGREGS", KvmIoctls.SET_DEBUGREGS, debugRegs);
    }
}
