package dev.jhv.core.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A copy of kvm_regs: the general registers, rip and rflags. */
public final class Regs {
    public enum Reg { RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS }

    private final byte[] raw;

    public Regs(byte[] raw) {
        if (raw.length != KvmStructs.REGS.byteSize()) {
            throw new IllegalArgumentException("kvm_regs is " + KvmStructs.REGS.byteSize() + " bytes");
        }
        this.raw = raw;
    }

    public byte[] raw() {
        return raw;
    }

    public long get(Reg r) {
        return MemorySegment.ofArray(raw).get(ValueLayout.JAVA_LONG_UNALIGNED, r.ordinal() * 8L);
    }

    public void set(Reg r, long v) {
        MemorySegment.ofArray(raw).set(ValueLayout.JAVA_LONG_UNALIGNED, r.ordinal() * 8L, v);
    }
}
