package dev.jhv.core.kvm;

/** One entry of KVM_SET_GSI_ROUTING's table (struct kvm_irq_routing_entry) of the kinds x86 uses. */
public sealed interface KvmIrqRoute {
    int gsi();

    /** The GSI drives pin {@code pin} of in-kernel chip {@code irqchip} (KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC). */
    record Irqchip(int gsi, int irqchip, int pin) implements KvmIrqRoute { }

    /** Raising the GSI writes {@code data} to the MSI address {@code addressHi:addressLo}. */
    record Msi(int gsi, int addressLo, int addressHi, int data) implements KvmIrqRoute { }
}
