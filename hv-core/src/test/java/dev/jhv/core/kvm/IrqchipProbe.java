package dev.jhv.core.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.BooleanSupplier;

/** What the interrupt tests read back from KVM: the PICs' and the IOAPIC's IRR, a local APIC's IRR. */
public final class IrqchipProbe {
    /** kvm_irqchip: chip_id, pad, then kvm_pic_state {last_irr, irr, imr, isr, ...}. */
    private static final long PIC_IRR = 8 + 1;
    /** kvm_irqchip: chip_id, pad, then kvm_ioapic_state {base_address u64, ioregsel u32, id u32, irr u32, ...}. */
    private static final long IOAPIC_IRR = 8 + 16;
    private static final int LAPIC_SVR = 0xf0;
    private static final int LAPIC_IRR = 0x200;

    private IrqchipProbe() { }

    /** A VM with its TSS, identity map and in-kernel irqchip, routed as KVM routes by default. */
    public static KvmVm vmWithIrqchip(Kvm kvm) {
        KvmVm vm = kvm.createVm();
        vm.setTssAddr(KvmVm.TSS_ADDR);
        vm.setIdentityMapAddr(KvmVm.IDENTITY_MAP_ADDR);
        vm.createIrqchip();
        return vm;
    }

    public static boolean ioapicIrr(KvmVm vm, int pin) {
        int irr = MemorySegment.ofArray(vm.getIrqchip(KvmIoctls.IRQCHIP_IOAPIC)).get(ValueLayout.JAVA_INT_UNALIGNED,
                IOAPIC_IRR);
        return (irr >>> pin & 1) != 0;
    }

    /** The IRR bit of an ISA IRQ (0-7 master, 8-15 slave); edge-triggered, it stays set after the pulse. */
    public static boolean picIrr(KvmVm vm, int irq) {
        byte[] chip = vm.getIrqchip(irq < 8 ? KvmIoctls.IRQCHIP_PIC_MASTER : KvmIoctls.IRQCHIP_PIC_SLAVE);
        return (chip[(int) PIC_IRR] >>> (irq & 7) & 1) != 0;
    }

    /** Sets the APIC software enable bit (SVR bit 8): a disabled local APIC takes no fixed interrupts. */
    public static void enableLapic(KvmVcpu vcpu) {
        byte[] regs = vcpu.getLapic();
        MemorySegment.ofArray(regs).set(ValueLayout.JAVA_INT_UNALIGNED, LAPIC_SVR, 0x1ff);
        vcpu.setLapic(regs);
    }

    /** Clears the local APIC's IRR, so that the next check sees only what comes after. */
    public static void clearLapicIrr(KvmVcpu vcpu) {
        byte[] regs = vcpu.getLapic();
        for (int i = 0; i < 8; i++) {
            MemorySegment.ofArray(regs).set(ValueLayout.JAVA_INT_UNALIGNED, LAPIC_IRR + 0x10L * i, 0);
        }
        vcpu.setLapic(regs);
    }

    /** The vectors pending in the local APIC's IRR. */
    public static java.util.List<Integer> lapicIrr(KvmVcpu vcpu) {
        MemorySegment regs = MemorySegment.ofArray(vcpu.getLapic());
        java.util.List<Integer> out = new java.util.ArrayList<>();
        for (int v = 0; v < 256; v++) {
            if ((regs.get(ValueLayout.JAVA_INT_UNALIGNED, LAPIC_IRR + 0x10L * (v >>> 5)) >>> (v & 31) & 1) != 0) {
                out.add(v);
            }
        }
        return out;
    }

    /**
     * Waits for what a kernel worker does after an eventfd write (KVM injects an irqfd's irqchip interrupt from a
     * work item, and nothing tells userspace when it ran); fails after a minute.
     */
    public static void await(BooleanSupplier condition, String what) {
        long until = System.nanoTime() + 60_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > until) {
                throw new AssertionError("never happened: " + what);
            }
            Thread.yield();
        }
    }
}
