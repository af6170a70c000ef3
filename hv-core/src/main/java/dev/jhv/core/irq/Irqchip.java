package dev.jhv.core.irq;

import dev.jhv.core.kvm.KvmIoctls;

/** The in-kernel interrupt controllers a GSI can drive a pin of, with KVM's chip ids and their pin counts. */
public enum Irqchip {
    /** The master 8259A: ISA IRQs 0-7 (pin 2 takes the slave's output). */
    PIC_MASTER(KvmIoctls.IRQCHIP_PIC_MASTER, 8),
    /** The slave 8259A: ISA IRQs 8-15. */
    PIC_SLAVE(KvmIoctls.IRQCHIP_PIC_SLAVE, 8),
    /** The 82093AA I/O APIC of KVM: 24 redirection entries. */
    IOAPIC(KvmIoctls.IRQCHIP_IOAPIC, 24);

    private final int kvmId;
    private final int pins;

    Irqchip(int kvmId, int pins) {
        this.kvmId = kvmId;
        this.pins = pins;
    }

    /** KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE or _IOAPIC. */
    public int kvmId() {
        return kvmId;
    }

    public int pins() {
        return pins;
    }
}
