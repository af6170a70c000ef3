package dev.jhv.core.irq;

import dev.jhv.core.kvm.KvmIrqRoute;
import dev.jhv.core.kvm.KvmVm;

/** The KVM calls the router makes; tests record them where the kernel cannot show their effect. */
interface IrqchipCalls {
    /** How many routes KVM takes; GSIs are below it. */
    int maxRoutes();

    /** KVM_SET_GSI_ROUTING. */
    void setRouting(GsiRoutingTable table);

    /** KVM_IRQ_LINE. */
    void setLevel(int gsi, boolean level);

    static IrqchipCalls of(KvmVm vm) {
        return new IrqchipCalls() {
            @Override
            public int maxRoutes() {
                return vm.maxIrqRoutes();
            }

            @Override
            public void setRouting(GsiRoutingTable table) {
                vm.setGsiRouting(table.routes().stream().map(IrqchipCalls::kvm).toList());
            }

            @Override
            public void setLevel(int gsi, boolean level) {
                vm.irqLine(gsi, level);
            }
        };
    }

    private static KvmIrqRoute kvm(GsiRoute route) {
        return switch (route) {
            case IrqchipRoute(int gsi, Irqchip chip, int pin) -> new KvmIrqRoute.Irqchip(gsi, chip.kvmId(), pin);
            case MsiRoute(int gsi, int lo, int hi, int data) -> new KvmIrqRoute.Msi(gsi, lo, hi, data);
        };
    }
}
