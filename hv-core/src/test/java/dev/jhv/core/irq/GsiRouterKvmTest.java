package dev.jhv.core.irq;

import dev.jhv.core.kvm.IrqFd;
import dev.jhv.core.kvm.IrqchipProbe;
import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.KvmVm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.jhv.core.kvm.IrqchipProbe.ioapicIrr;
import static dev.jhv.core.kvm.IrqchipProbe.lapicIrr;
import static dev.jhv.core.kvm.IrqchipProbe.vmWithIrqchip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The router on a real VM: what its table and its shared lines do to KVM's IOAPIC and local APIC. */
@Tag("kvm")
class GsiRouterKvmTest {
    @Test
    void thePcTableSendsGsi0ToIoapicPin2WhereKvmsDefaultHasPin0() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm byDefault = vmWithIrqchip(kvm); KvmVm pc = vmWithIrqchip(kvm)) {
            byDefault.irqLine(0, true);
            assertThat(ioapicIrr(byDefault, 0)).isTrue();
            assertThat(ioapicIrr(byDefault, 2)).isFalse();

            new GsiRouter(pc, GsiRoutingTableTest.PC).source(0).setLevel(true);
            assertThat(ioapicIrr(pc, 2)).as("the timer's pin on a PC").isTrue();
            assertThat(ioapicIrr(pc, 0)).isFalse();
        }
    }

    @Test
    void twoSourcesHoldAnIoapicPinUntilBothDrop() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = vmWithIrqchip(kvm)) {
            GsiRouter router = new GsiRouter(vm, GsiRoutingTableTest.PC);
            IrqLine a = router.source(11);
            IrqLine b = router.source(11);
            a.setLevel(true);
            b.setLevel(true);
            assertThat(ioapicIrr(vm, 11)).isTrue();
            a.setLevel(false);
            assertThat(ioapicIrr(vm, 11)).as("b still asserts it").isTrue();
            b.setLevel(false);
            assertThat(ioapicIrr(vm, 11)).isFalse();
        }
    }

    @Test
    void msiRoutesAreAddedReplacedAndRemovedAtRunTime() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = vmWithIrqchip(kvm); KvmVcpu cpu = vm.createVcpu(0)) {
            IrqchipProbe.enableLapic(cpu);
            GsiRouter router = new GsiRouter(vm, GsiRoutingTableTest.PC);
            assertThat(router.gsiCount()).isGreaterThan(24);
            int gsi = router.allocateGsi();
            assertThat(gsi).isEqualTo(24);
            IrqLine line = router.source(gsi);

            router.route(new MsiRoute(gsi, 0xfee00000, 0, 0x51));
            line.pulse();
            assertThat(lapicIrr(cpu)).containsExactly(0x51);

            IrqchipProbe.clearLapicIrr(cpu);
            router.route(new MsiRoute(gsi, 0xfee00000, 0, 0x52)); // replaced
            line.pulse();
            assertThat(lapicIrr(cpu)).containsExactly(0x52);

            IrqchipProbe.clearLapicIrr(cpu);
            IrqFd irqfd = vm.irqfd(gsi); // an irqfd on the MSI GSI sends its message
            irqfd.trigger().signal();
            irqfd.close();
            assertThat(lapicIrr(cpu)).containsExactly(0x52);

            IrqchipProbe.clearLapicIrr(cpu);
            router.releaseGsi(gsi); // removed
            line.pulse();
            assertThat(lapicIrr(cpu)).isEmpty();
        }
    }
}
