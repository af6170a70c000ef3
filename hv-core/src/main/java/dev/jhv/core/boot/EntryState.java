package dev.jhv.core.boot;

import dev.jhv.core.kvm.Segment;

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
}
