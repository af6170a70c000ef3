package dev.jhv.core.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.jhv.core.kvm.KvmStructs.SEGMENT;
import static dev.jhv.core.kvm.KvmStructs.SREGS;
import static dev.jhv.core.kvm.KvmStructs.offset;

/** A copy of kvm_sregs with typed access to its parts. */
public final class Sregs {
    public enum Seg { CS, DS, ES, FS, GS, SS, TR, LDT }

    private static final long GDT = offset(SREGS, "gdt");
    private static final long IDT = offset(SREGS, "idt");
    private static final long CR0 = offset(SREGS, "cr0");
    private static final long CR2 = offset(SREGS, "cr2");
    private static final long CR3 = offset(SREGS, "cr3");
    private static final long CR4 = offset(SREGS, "cr4");
    private static final long CR8 = offset(SREGS, "cr8");
    private static final long EFER = offset(SREGS, "efer");
    private static final long APIC_BASE = offset(SREGS, "apic_base");

    private final byte[] raw;
    private final MemorySegment m;

    public Sregs(byte[] raw) {
        if (raw.length != SREGS.byteSize()) {
            throw new IllegalArgumentException("kvm_sregs is " + SREGS.byteSize() + " bytes, got " + raw.length);
        }
        this.raw = raw;
        this.m = MemorySegment.ofArray(raw);
    }

    public byte[] raw() {
        return raw;
    }

    public Segment segment(Seg which) {
        long o = which.ordinal() * SEGMENT.byteSize();
        return new Segment(m.get(ValueLayout.JAVA_LONG_UNALIGNED, o), m.get(ValueLayout.JAVA_INT_UNALIGNED, o + 8),
                Short.toUnsignedInt(m.get(ValueLayout.JAVA_SHORT_UNALIGNED, o + 12)),
                b(o + 14), b(o + 15) != 0, b(o + 16), b(o + 17) != 0, b(o + 18) != 0, b(o + 19) != 0,
                b(o + 20) != 0, b(o + 21) != 0, b(o + 22) != 0);
    }

    public void setSegment(Seg which, Segment s) {
        long o = which.ordinal() * SEGMENT.byteSize();
        m.set(ValueLayout.JAVA_LONG_UNALIGNED, o, s.base());
        m.set(ValueLayout.JAVA_INT_UNALIGNED, o + 8, s.limit());
        m.set(ValueLayout.JAVA_SHORT_UNALIGNED, o + 12, (short) s.selector());
        raw[(int) o + 14] = (byte) s.type();
        raw[(int) o + 15] = (byte) (s.present() ? 1 : 0);
        raw[(int) o + 16] = (byte) s.dpl();
        raw[(int) o + 17] = (byte) (s.db() ? 1 : 0);
        raw[(int) o + 18] = (byte) (s.s() ? 1 : 0);
        raw[(int) o + 19] = (byte) (s.l() ? 1 : 0);
        raw[(int) o + 20] = (byte) (s.g() ? 1 : 0);
        raw[(int) o + 21] = (byte) (s.avl() ? 1 : 0);
        raw[(int) o + 22] = (byte) (s.unusable() ? 1 : 0);
    }

    private int b(long o) {
        return Byte.toUnsignedInt(raw[(int) o]);
    }

    public void setGdt(long base, int limit) {
        m.set(ValueLayout.JAVA_LONG_UNALIGNED, GDT, base);
        m.set(ValueLayout.JAVA_SHORT_UNALIGNED, GDT + 8, (short) limit);
    }

    public void setIdt(long base, int limit) {
        m.set(ValueLayout.JAVA_LONG_UNALIGNED, IDT, base);
        m.set(ValueLayout.JAVA_SHORT_UNALIGNED, IDT + 8, (short) limit);
    }

    public long gdtBase() {
        return m.get(ValueLayout.JAVA_LONG_UNALIGNED, GDT);
    }

    public long cr0() { return get(CR0); }
    public long cr2() { return get(CR2); }
    public long cr3() { return get(CR3); }
    public long cr4() { return get(CR4); }
    public long cr8() { return get(CR8); }
    public long efer() { return get(EFER); }
    public long apicBase() { return get(APIC_BASE); }
    public void setCr0(long v) { put(CR0, v); }
    public void setCr3(long v) { put(CR3, v); }
    public void setCr4(long v) { put(CR4, v); }
    public void setEfer(long v) { put(EFER, v); }

    private long get(long o) {
        return m.get(ValueLayout.JAVA_LONG_UNALIGNED, o);
    }

    private void put(long o, long v) {
        m.set(ValueLayout.JAVA_LONG_UNALIGNED, o, v);
    }
}
