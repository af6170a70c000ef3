package dev.jhv.core.inkernel;

import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.vmstate.RecordDescription;

/** KVM's in-kernel 8259 PICs and IOAPIC as one device ("kvm-irqchip"), their state kept as KVM's structures. */
public final class KvmIrqchip extends KvmStateDevice<KvmIrqchip.State> {
    /** kvm_irqchip structures of the master PIC, the slave PIC and the IOAPIC. */
    public record State(byte[] picMaster, byte[] picSlave, byte[] ioapic) { }

    private static final int SIZE = (int) KvmStructs.IRQCHIP.byteSize();

    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "kvm-irqchip", 1)
            .buffer("pic_master", SIZE)
            .buffer("pic_slave", SIZE)
            .buffer("ioapic", SIZE)
            .defaults(new State(new byte[SIZE], new byte[SIZE], new byte[SIZE])) // all in the stream
            .check(s -> chipId(s.picMaster()) != KvmIoctls.IRQCHIP_PIC_MASTER
                    || chipId(s.picSlave()) != KvmIoctls.IRQCHIP_PIC_SLAVE
                    || chipId(s.ioapic()) != KvmIoctls.IRQCHIP_IOAPIC
                    ? "irqchip ids are not master PIC, slave PIC, IOAPIC" : null)
            .build();

    private final KvmVm vm;

    public KvmIrqchip(KvmVm vm) {
        this.vm = vm;
    }

    private static int chipId(byte[] chip) {
        return chip[0] & 0xff;
    }

    @Override
    public String id() {
        return "kvm-irqchip";
    }

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public State state() {
        return new State(vm.getIrqchip(KvmIoctls.IRQCHIP_PIC_MASTER), vm.getIrqchip(KvmIoctls.IRQCHIP_PIC_SLAVE),
                vm.getIrqchip(KvmIoctls.IRQCHIP_IOAPIC));
    }

    @Override
    protected void write(State s) {
        vm.setIrqchip(s.picMaster());
        vm.setIrqchip(s.picSlave());
        vm.setIrqchip(s.ioapic());
    }
}
