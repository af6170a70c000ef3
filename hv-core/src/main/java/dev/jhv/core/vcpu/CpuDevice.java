package dev.jhv.core.vcpu;

import dev.jhv.core.inkernel.KvmStateDevice;
import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.Regs;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.core.vmstate.ScalarType;

/**
 * A vCPU as a device: its state is {@link CpuState}, read from and written to KVM (the vCPU must be parked), and
 * its section "cpu" (instance: the vCPU index) has the general registers by name, then KVM's own structures
 * (sregs, XSAVE, XCRs, events, LAPIC, debug registers, MP state) and the MSRs KVM lists for save/restore.
 * Reset puts back the state recorded at power-on.
 */
public final class CpuDevice extends KvmStateDevice<CpuState> {
    static final int MAX_MSRS = 512;

    /** KVM's structures at their sizes, all zero: what a load fills in. */
    private static final CpuState BLANK = new CpuState(new byte[(int) KvmStructs.REGS.byteSize()],
            new byte[(int) KvmStructs.SREGS.byteSize()], new byte[(int) KvmStructs.XSAVE.byteSize()],
            new byte[(int) KvmStructs.XCRS.byteSize()], new int[0], new long[0],
            new byte[(int) KvmStructs.VCPU_EVENTS.byteSize()], 0, new byte[(int) KvmStructs.LAPIC_STATE.byteSize()],
            new byte[(int) KvmStructs.DEBUGREGS.byteSize()]);

    public static final RecordDescription<CpuState> VMSTATE = describe();

    private final int index;
    private final KvmVcpu vcpu;
    private final int[] msrList;

    public CpuDevice(int index, KvmVcpu vcpu, int[] msrList) {
        this.index = index;
        this.vcpu = vcpu;
        this.msrList = msrList.clone();
    }

    private static RecordDescription<CpuState> describe() {
        var b = RecordDescription.builder(CpuState.class, "cpu", 1);
        for (Regs.Reg r : Regs.Reg.values()) {
            b.u64At(r.name().toLowerCase(), "regs", r.ordinal() * 8L);
        }
        return b.buffer("sregs", (int) KvmStructs.SREGS.byteSize())
                .buffer("xsave", (int) KvmStructs.XSAVE.byteSize())
                .buffer("xcrs", (int) KvmStructs.XCRS.byteSize())
                .buffer("vcpu_events", (int) KvmStructs.VCPU_EVENTS.byteSize(), "events")
                .u32("mp_state")
                .buffer("lapic", (int) KvmStructs.LAPIC_STATE.byteSize())
                .buffer("debugregs", (int) KvmStructs.DEBUGREGS.byteSize(), "debugRegs")
                .lengthOf("nmsrs", ScalarType.U32, "msrIndices")
                .intVarArray("msr_index", ScalarType.U32, "nmsrs", MAX_MSRS, "msrIndices")
                .longVarArray("msr_value", ScalarType.U64, "nmsrs", MAX_MSRS, "msrValues")
                .defaults(BLANK) // every field is in the stream: a load need not read the vCPU first
                .check(s -> s.msrIndices().length != s.msrValues().length
                        ? "msr_index has " + s.msrIndices().length + " entries but msr_value " + s.msrValues().length
                        : null)
                .build();
    }

    @Override
    public String id() {
        return "cpu" + index;
    }

    @Override
    public int instanceId() {
        return index;
    }

    @Override
    public RecordDescription<CpuState> vmstate() {
        return VMSTATE;
    }

    @Override
    public CpuState state() {
        return CpuState.read(vcpu, msrList);
    }

    @Override
    protected void write(CpuState state) {
        state.write(vcpu);
    }
}
