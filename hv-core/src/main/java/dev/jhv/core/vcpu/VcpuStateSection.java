package dev.jhv.core.vcpu;

import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.Regs;
import dev.jhv.core.vmstate.ScalarType;
import dev.jhv.core.vmstate.VMStateDescription;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A vCPU's state as a migration section ("cpu"): the general registers by name, then KVM's own structures
 * (sregs, XSAVE, XCRs, events, LAPIC, debug registers, MP state) and the MSRs KVM lists for save/restore.
 * Read from KVM before save; written to KVM after a load. The vCPU must be parked for both.
 */
public final class VcpuStateSection {
    static final int MAX_MSRS = 512;

    private final KvmVcpu vcpu;
    private final int[] msrList;
    final byte[] regs = new byte[(int) KvmStructs.REGS.byteSize()];
    final byte[] sregs = new byte[(int) KvmStructs.SREGS.byteSize()];
    final byte[] xsave = new byte[(int) KvmStructs.XSAVE.byteSize()];
    final byte[] xcrs = new byte[(int) KvmStructs.XCRS.byteSize()];
    final byte[] events = new byte[(int) KvmStructs.VCPU_EVENTS.byteSize()];
    final byte[] lapic = new byte[(int) KvmStructs.LAPIC_STATE.byteSize()];
    final byte[] debugRegs = new byte[(int) KvmStructs.DEBUGREGS.byteSize()];
    int mpState;
    int[] msrIndices = new int[0];
    long[] msrValues = new long[0];

    public VcpuStateSection(KvmVcpu vcpu, int[] msrList) {
        this.vcpu = vcpu;
        this.msrList = msrList.clone();
    }

    public static final VMStateDescription<VcpuStateSection> VMSTATE = describe();

    private static VMStateDescription<VcpuStateSection> describe() {
        var b = VMStateDescription.<VcpuStateSection>builder("cpu", 1);
        b.preSave(VcpuStateSection::readFromKvm);
        for (Regs.Reg r : Regs.Reg.values()) {
            long off = r.ordinal() * 8L;
            b.u64(r.name().toLowerCase(),
                    s -> MemorySegment.ofArray(s.regs).get(ValueLayout.JAVA_LONG_UNALIGNED, off),
                    (s, v) -> MemorySegment.ofArray(s.regs).set(ValueLayout.JAVA_LONG_UNALIGNED, off, v));
        }
        b.buffer("sregs", (int) KvmStructs.SREGS.byteSize(), s -> s.sregs);
        b.buffer("xsave", (int) KvmStructs.XSAVE.byteSize(), s -> s.xsave);
        b.buffer("xcrs", (int) KvmStructs.XCRS.byteSize(), s -> s.xcrs);
        b.buffer("vcpu_events", (int) KvmStructs.VCPU_EVENTS.byteSize(), s -> s.events);
        b.u32("mp_state", s -> s.mpState, (s, v) -> s.mpState = v);
        b.buffer("lapic", (int) KvmStructs.LAPIC_STATE.byteSize(), s -> s.lapic);
        b.buffer("debugregs", (int) KvmStructs.DEBUGREGS.byteSize(), s -> s.debugRegs);
        b.u32("nmsrs", s -> s.msrIndices.length, (s, v) -> { });
        b.intVarArray("msr_index", ScalarType.U32, "nmsrs", MAX_MSRS, s -> s.msrIndices, (s, v) -> s.msrIndices = v);
        b.longVarArray("msr_value", ScalarType.U64, "nmsrs", MAX_MSRS, s -> s.msrValues, (s, v) -> s.msrValues = v);
        b.postLoad((s, version) -> s.writeToKvm());
        return b.build();
    }

    private void readFromKvm() {
        CpuState st = CpuState.read(vcpu, msrList);
        copy(st.regs(), regs);
        copy(st.sregs(), sregs);
        copy(st.xsave(), xsave);
        copy(st.xcrs(), xcrs);
        copy(st.events(), events);
        copy(st.lapic(), lapic);
        copy(st.debugRegs(), debugRegs);
        mpState = st.mpState();
        msrIndices = st.msrIndices();
        msrValues = st.msrValues();
    }

    private String writeToKvm() {
        if (msrIndices.length != msrValues.length) {
            return "msr_index has " + msrIndices.length + " entries but msr_value " + msrValues.length;
        }
        try {
            new CpuState(regs.clone(), sregs.clone(), xsave.clone(), xcrs.clone(), msrIndices.clone(),
                    msrValues.clone(), events.clone(), mpState, lapic.clone(), debugRegs.clone()).write(vcpu);
            return null;
        } catch (RuntimeException e) {
            return "KVM refused the vCPU state: " + e.getMessage();
        }
    }

    private static void copy(byte[] from, byte[] to) {
        System.arraycopy(from, 0, to, 0, Math.min(from.length, to.length));
    }
}
