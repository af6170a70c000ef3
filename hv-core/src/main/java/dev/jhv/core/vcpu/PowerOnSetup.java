package dev.jhv.core.vcpu;

import dev.jhv.core.kvm.KvmVcpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What firmware would have done to each CPU before the OS runs, for direct kernel boot: the local APIC's LINT0
 * delivers the 8259's ExtINT and LINT1 delivers NMI (the MP spec's virtual-wire mode), fast strings on, and
 * MTRRs enabled with write-back as the default type.
 */
public final class PowerOnSetup {
    private static final int APIC_LVT_LINT0 = 0x350;
    private static final int APIC_LVT_LINT1 = 0x360;
    private static final int DELIVERY_MODE_MASK = 0x700;
    private static final int DELIVERY_EXTINT = 0x700;
    private static final int DELIVERY_NMI = 0x400;

    static final int MSR_IA32_MISC_ENABLE = 0x1a0;
    static final int MSR_MTRR_DEF_TYPE = 0x2ff;
    private static final long MISC_ENABLE_FAST_STRING = 1;
    private static final long MTRR_ENABLE_WB_DEFAULT = (1 << 11) | 6;

    private PowerOnSetup() { }

    public static void apply(KvmVcpu v, int[] supportedMsrs) {
        byte[] lapic = v.getLapic();
        MemorySegment regs = MemorySegment.ofArray(lapic);
        setDeliveryMode(regs, APIC_LVT_LINT0, DELIVERY_EXTINT);
        setDeliveryMode(regs, APIC_LVT_LINT1, DELIVERY_NMI);
        v.setLapic(lapic);
        if (contains(supportedMsrs, MSR_IA32_MISC_ENABLE)) {
            v.setMsrs(new int[] {MSR_IA32_MISC_ENABLE}, new long[] {MISC_ENABLE_FAST_STRING});
        }
        if (contains(supportedMsrs, MSR_MTRR_DEF_TYPE)) {
            v.setMsrs(new int[] {MSR_MTRR_DEF_TYPE}, new long[] {MTRR_ENABLE_WB_DEFAULT});
        }
    }

    private static void setDeliveryMode(MemorySegment regs, int reg, int mode) {
        int v = regs.get(ValueLayout.JAVA_INT_UNALIGNED, reg);
        regs.set(ValueLayout.JAVA_INT_UNALIGNED, reg, (v & ~DELIVERY_MODE_MASK) | mode);
    }

    private static boolean contains(int[] a, int x) {
        for (int i : a) {
            if (i == x) {
                return true;
            }
        }
        return false;
    }
}
