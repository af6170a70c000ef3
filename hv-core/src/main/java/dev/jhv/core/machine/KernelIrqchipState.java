package dev.jhv.core.machine;

import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.vmstate.VMStateDescription;

/**
 * The in-kernel interrupt controllers and timers as migration sections: the two 8259 PICs and the IOAPIC
 * ("kvm-irqchip"), the 8254 PIT ("kvm-pit"), and the KVM clock ("kvmclock"), kept as KVM's structures.
 */
public final class KernelIrqchipState {
    private final KvmVm vm;
    final byte[] picMaster = new byte[(int) KvmStructs.IRQCHIP.byteSize()];
    final byte[] picSlave = new byte[(int) KvmStructs.IRQCHIP.byteSize()];
    final byte[] ioapic = new byte[(int) KvmStructs.IRQCHIP.byteSize()];
    final byte[] pit = new byte[(int) KvmStructs.PIT_STATE2.byteSize()];
    long clock;

    public KernelIrqchipState(KvmVm vm) {
        this.vm = vm;
    }

    public static final VMStateDescription<KernelIrqchipState> IRQCHIP = VMStateDescription
            .<KernelIrqchipState>builder("kvm-irqchip", 1)
            .preSave(s -> {
                copy(s.vm.getIrqchip(KvmIoctls.IRQCHIP_PIC_MASTER), s.picMaster);
                copy(s.vm.getIrqchip(KvmIoctls.IRQCHIP_PIC_SLAVE), s.picSlave);
                copy(s.vm.getIrqchip(KvmIoctls.IRQCHIP_IOAPIC), s.ioapic);
            })
            .buffer("pic_master", (int) KvmStructs.IRQCHIP.byteSize(), s -> s.picMaster)
            .buffer("pic_slave", (int) KvmStructs.IRQCHIP.byteSize(), s -> s.picSlave)
            .buffer("ioapic", (int) KvmStructs.IRQCHIP.byteSize(), s -> s.ioapic)
            .postLoad((s, v) -> {
                if (chipId(s.picMaster) != KvmIoctls.IRQCHIP_PIC_MASTER || chipId(s.picSlave) != KvmIoctls.IRQCHIP_PIC_SLAVE
                        || chipId(s.ioapic) != KvmIoctls.IRQCHIP_IOAPIC) {
                    return "irqchip ids are not master PIC, slave PIC, IOAPIC";
                }
                return apply(() -> {
                    s.vm.setIrqchip(s.picMaster);
                    s.vm.setIrqchip(s.picSlave);
                    s.vm.setIrqchip(s.ioapic);
                });
            })
            .build();

    public static final VMStateDescription<KernelIrqchipState> PIT = VMStateDescription
            .<KernelIrqchipState>builder("kvm-pit", 1)
            .preSave(s -> copy(s.vm.getPit2(), s.pit))
            .buffer("pit_state2", (int) KvmStructs.PIT_STATE2.byteSize(), s -> s.pit)
            .postLoad((s, v) -> apply(() -> s.vm.setPit2(s.pit)))
            .build();

    public static final VMStateDescription<KernelIrqchipState> CLOCK = VMStateDescription
            .<KernelIrqchipState>builder("kvmclock", 1)
            .preSave(s -> s.clock = java.lang.foreign.MemorySegment.ofArray(s.vm.getClock())
                    .get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0))
            .u64("clock", s -> s.clock, (s, v) -> s.clock = v)
            .postLoad((s, v) -> apply(() -> {
                byte[] data = new byte[(int) KvmStructs.CLOCK_DATA.byteSize()];
                java.lang.foreign.MemorySegment.ofArray(data).set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0, s.clock);
                s.vm.setClock(data);
            }))
            .build();

    private static int chipId(byte[] chip) {
        return chip[0] & 0xff;
    }

    private static String apply(Runnable r) {
        try {
            r.run();
            return null;
        } catch (RuntimeException e) {
            return "KVM refused the state: " + e.getMessage();
        }
    }

    private static void copy(byte[] from, byte[] to) {
        System.arraycopy(from, 0, to, 0, Math.min(from.length, to.length));
    }
}
