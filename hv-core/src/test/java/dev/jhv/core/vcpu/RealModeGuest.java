package dev.jhv.core.vcpu;

import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.Regs;
import dev.jhv.core.kvm.Segment;
import dev.jhv.core.kvm.Sregs;

/** A vCPU in real mode running a few bytes of test code: what the KVM tests of vCPUs and memory start from. */
public final class RealModeGuest {
    private RealModeGuest() { }

    /** Real mode, CS and DS at 0 (flat 64 KiB), entering at {@code rip}. */
    public static void enterAt(KvmVcpu kv, long rip) {
        Sregs s = kv.getSregs();
        s.setSegment(Sregs.Seg.CS, new Segment(0, 0xffff, 0, 0xb, true, 0, false, true, false, false, false, false));
        s.setSegment(Sregs.Seg.DS, new Segment(0, 0xffff, 0, 0x3, true, 0, false, true, false, false, false, false));
        kv.setSregs(s);
        Regs r = kv.getRegs();
        r.set(Regs.Reg.RIP, rip);
        r.set(Regs.Reg.RFLAGS, 2);
        kv.setRegs(r);
    }

    /** Ignores reset and shutdown requests; an internal error fails the test. */
    public static VcpuExitHandler failOnInternalError() {
        return new VcpuExitHandler() {
            @Override
            public void resetRequested(Vcpu v, String why) { }

            @Override
            public void shutdownRequested(Vcpu v) { }

            @Override
            public void internalError(Vcpu v, String message) {
                throw new AssertionError(message);
            }
        };
    }
}
