package dev.jhv.core.vcpu;

import dev.jhv.core.boot.EntryState;
import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.Regs;
import dev.jhv.core.kvm.Sregs;

/** Puts a kernel's entry state (from a boot loader) into a vCPU; general registers not named start at zero. */
public final class EntryStateWriter {
    private EntryStateWriter() { }

    public static void apply(KvmVcpu v, EntryState e) {
        Sregs s = v.getSregs();
        Regs r = new Regs(new byte[(int) KvmStructs.REGS.byteSize()]);
        e.applyTo(r, s);
        v.setSregs(s);
        v.setRegs(r);
    }
}
