package dev.jhv.core.vcpu;

import dev.jhv.core.boot.EntryState;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.Regs;
import dev.jhv.core.kvm.Sregs;

/** Puts a kernel's entry state (from a boot loader) into a vCPU's registers. */
public final class EntryStateWriter {
    private EntryStateWriter() { }

    public static void apply(KvmVcpu v, EntryState e) {
        Sregs s = v.getSregs();
        s.setSegment(Sregs.Seg.CS, e.cs());
        s.setSegment(Sregs.Seg.DS, e.ds());
        s.setSegment(Sregs.Seg.ES, e.es());
        s.setSegment(Sregs.Seg.FS, e.fs());
        s.setSegment(Sregs.Seg.GS, e.gs());
        s.setSegment(Sregs.Seg.SS, e.ss());
        if (e.tr() != null) {
            s.setSegment(Sregs.Seg.TR, e.tr());
        }
        if (e.ldt() != null) {
            s.setSegment(Sregs.Seg.LDT, e.ldt());
        }
        s.setGdt(e.gdtBase(), e.gdtLimit());
        s.setIdt(e.idtBase(), e.idtLimit());
        s.setCr0(e.cr0());
        s.setCr3(e.cr3());
        s.setCr4(e.cr4());
        s.setEfer(e.efer());
        v.setSregs(s);

        Regs r = new Regs(new byte[(int) dev.jhv.core.kvm.KvmStructs.REGS.byteSize()]);
        r.set(Regs.Reg.RIP, e.rip());
        r.set(Regs.Reg.RSI, e.rsi());
        r.set(Regs.Reg.RBX, e.rbx());
        r.set(Regs.Reg.RSP, e.rsp());
        r.set(Regs.Reg.RFLAGS, e.rflags());
        v.setRegs(r);
    }
}
