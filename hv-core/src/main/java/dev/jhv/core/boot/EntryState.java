package dev.jhv.core.boot;

import dev.jhv.core.kvm.Regs;
import dev.jhv.core.kvm.Segment;
import dev.jhv.core.kvm.Sregs;

/**
 * The boot vCPU's registers at the kernel's entry point: what goes into kvm_regs and kvm_sregs.
 * Segments are given hidden part included, ready for KVM_SET_SREGS; es/fs/gs/ss equal ds.
 */
public record EntryState(
        Mode mode,
        long rip, long rsi, long rbx, long rsp, long rflags,
        long cr0, long cr3, long cr4, long efer,
        long gdtBase, int gdtLimit, long idtBase, int idtLimit,
        Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss, Segment tr, Segment ldt) {

    public enum Mode {
        /** 64-bit long mode, paging on with identity-mapped page tables (Linux 64-bit boot protocol). */
        LONG64,
        /** 32-bit protected mode, paging off (PVH entry). */
        PROTECTED32
    }

    public static final long CR0_PE = 1L;
    public static final long CR0_ET = 1L << 4;
    public static final long CR0_PG = 1L << 31;
    public static final long CR4_PAE = 1L << 5;
    public static final long EFER_LME = 1L << 8;
    public static final long EFER_LMA = 1L << 10;
    /** RFLAGS with only the always-one bit 1: interrupts off. */
    public static final long RFLAGS_DEFAULT = 0x2;

    /**
     * Puts this state into copies of kvm_regs and kvm_sregs (typically read from the vCPU after reset), ready for
     * KVM_SET_SREGS then KVM_SET_REGS. Registers this record does not name are left as they were.
     */
    public void applyTo(Regs regs, Sregs sregs) {
        regs.set(Regs.Reg.RIP, rip);
        regs.set(Regs.Reg.RSI, rsi);
        regs.set(Regs.Reg.RBX, rbx);
        regs.set(Regs.Reg.RSP, rsp);
        regs.set(Regs.Reg.RFLAGS, rflags);
        sregs.setSegment(Sregs.Seg.CS, cs);
        sregs.setSegment(Sregs.Seg.DS, ds);
        sregs.setSegment(Sregs.Seg.ES, es);
        sregs.setSegment(Sregs.Seg.FS, fs);
        sregs.setSegment(Sregs.Seg.GS, gs);
        sregs.setSegment(Sregs.Seg.SS, ss);
        sregs.setSegment(Sregs.Seg.TR, tr);
        sregs.setSegment(Sregs.Seg.LDT, ldt);
        sregs.setGdt(gdtBase, gdtLimit);
        sregs.setIdt(idtBase, idtLimit);
        sregs.setCr0(cr0);
        sregs.setCr3(cr3);
        sregs.setCr4(cr4);
        sregs.setEfer(efer);
    }
}
