package dev.jhv.core.kvm;

import dev.jhv.core.sys.Libc;
import dev.jhv.core.vcpu.RealModeGuest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.OptionalLong;

import static dev.jhv.core.kvm.IrqchipProbe.await;
import static dev.jhv.core.kvm.IrqchipProbe.ioapicIrr;
import static dev.jhv.core.kvm.IrqchipProbe.picIrr;
import static dev.jhv.core.kvm.IrqchipProbe.vmWithIrqchip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** irqfd, ioeventfd and KVM_SIGNAL_MSI against the real in-kernel irqchip, as KVM routes GSIs by default. */
@Tag("kvm")
class KvmInterruptsTest {
    private static final OptionalLong ANY = OptionalLong.empty();

    @Test
    void anEdgeIrqfdPulsesItsGsiWhenWritten() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = vmWithIrqchip(kvm)) {
            IrqFd written = vm.irqfd(3);
            IrqFd idle = vm.irqfd(4);
            assertThat(written.isLevel()).isFalse();
            assertThatThrownBy(written::resample).hasMessageContaining("edge-triggered");
            written.trigger().signal();
            // KVM's deassign waits for injections under way: after close the pulse has happened
            written.close();
            idle.close();
            written.close(); // once only
            assertThat(picIrr(vm, 3)).as("the PIC latched the edge").isTrue();
            assertThat(ioapicIrr(vm, 3)).as("and the line is low again").isFalse();
            assertThat(picIrr(vm, 4)).as("an irqfd nobody wrote").isFalse();
        }
    }

    @Test
    void aLevelIrqfdHoldsItsGsiAssertedUntilDeassigned() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = vmWithIrqchip(kvm)) {
            IrqFd irqfd = vm.levelIrqfd(5);
            assertThat(irqfd.isLevel()).isTrue();
            assertThat(irqfd.resample().read()).isZero(); // no EOI without a guest
            assertThat(ioapicIrr(vm, 5)).isFalse();
            irqfd.trigger().signal();
            await(() -> ioapicIrr(vm, 5), "IOAPIC pin 5 asserted by the level irqfd");
            assertThat(ioapicIrr(vm, 5)).as("still asserted: nothing acknowledged it").isTrue();
            irqfd.close();
            assertThat(ioapicIrr(vm, 5)).as("the deassign drops the irqfd's level").isFalse();
        }
    }

    @Test
    void irqfdErrorsNameTheCallAndTheGsi() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm()) { // no in-kernel irqchip: KVM takes no irqfd
            assertThatThrownBy(() -> vm.irqfd(3)).isInstanceOf(KvmException.class)
                    .hasMessage("KVM_IRQFD: EINVAL (GSI 3)");
            assertThatThrownBy(() -> vm.levelIrqfd(4)).isInstanceOf(KvmException.class)
                    .hasMessage("KVM_IRQFD: EINVAL (GSI 4, level-triggered)");
        }
    }

    @Test
    void ioeventfdsAreAssignedWithAndWithoutDatamatchAndADuplicateIsRefused() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = vmWithIrqchip(kvm)) {
            IoEventFd one = vm.ioeventfd(IoEventFd.Space.PIO, 0x510, 2, OptionalLong.of(1));
            IoEventFd two = vm.ioeventfd(IoEventFd.Space.PIO, 0x510, 2, OptionalLong.of(2)); // another value
            assertThatThrownBy(() -> vm.ioeventfd(IoEventFd.Space.PIO, 0x510, 2, OptionalLong.of(1)))
                    .isInstanceOf(KvmException.class).hasMessage("KVM_IOEVENTFD: EEXIST (PIO 0x510+2 datamatch 0x1: "
                            + "another ioeventfd already takes these writes)");
            assertThatThrownBy(() -> vm.ioeventfd(IoEventFd.Space.PIO, 0x510, 2, ANY))
                    .as("any value overlaps both").isInstanceOf(KvmException.class).hasMessageContaining("EEXIST");
            // the same address in the other space is another address
            IoEventFd mmio = vm.ioeventfd(IoEventFd.Space.MMIO, 0x510, 2, ANY);
            assertThatThrownBy(() -> vm.ioeventfd(IoEventFd.Space.MMIO, 0x510, 2, OptionalLong.of(7)))
                    .hasMessage("KVM_IOEVENTFD: EEXIST (MMIO 0x510+2 datamatch 0x7: "
                            + "another ioeventfd already takes these writes)");

            one.close();
            one.close(); // once only: a second deassign would fail with ENOENT
            vm.ioeventfd(IoEventFd.Space.PIO, 0x510, 2, OptionalLong.of(1)).close(); // free again
            two.close();
            mmio.close();
            vm.ioeventfd(IoEventFd.Space.PIO, 0x510, 2, ANY).close(); // all gone
            assertThat(one.toString()).isEqualTo("ioeventfd PIO 0x510+2 datamatch 0x1");
            assertThatThrownBy(() -> vm.ioeventfd(IoEventFd.Space.PIO, 0x510, 3, ANY))
                    .hasMessageContaining("length 3");
        }
    }

    /** Real mode: "out 0x510" of 1, then of 2, then of 1 again, then loops. */
    private static final byte[] DOORBELL = {
        (byte) 0xBA, 0x10, 0x05,          // mov dx, 0x510
        (byte) 0xB0, 0x01,                // mov al, 1
        (byte) 0xEE,                      // out dx, al
        (byte) 0xB0, 0x02,                // mov al, 2
        (byte) 0xEE,                      // out dx, al
        (byte) 0xB0, 0x01,                // mov al, 1
        (byte) 0xEE,                      // out dx, al
        (byte) 0xEB, (byte) 0xFE,         // jmp $
    };

    @Test
    void aGuestWriteOfTheMatchingValueSignalsTheEventfdInsteadOfExiting() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        MemorySegment ram = Libc.mmap(1 << 20, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_SHARED | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        try (Kvm kvm = Kvm.open(); KvmVm vm = vmWithIrqchip(kvm)) {
            vm.setUserMemoryRegion(0, 0, 0, ram);
            MemorySegment.copy(DOORBELL, 0, ram, ValueLayout.JAVA_BYTE, 0x1000, DOORBELL.length);
            try (KvmVcpu cpu = vm.createVcpu(0)) {
                RealModeGuest.enterAt(cpu, 0x1000);
                IoEventFd doorbell = vm.ioeventfd(IoEventFd.Space.PIO, 0x510, 1, OptionalLong.of(1));
                assertThat(runToPortWrite(cpu)).as("the first exit is the write of 2").isEqualTo(2);
                assertThat(doorbell.event().read()).as("the write of 1 went to the eventfd").isEqualTo(1);
                doorbell.close();
                assertThat(runToPortWrite(cpu)).as("deassigned: the next write of 1 exits").isEqualTo(1);
            }
        } finally {
            Libc.munmap(ram);
        }
    }

    /** Runs until an OUT to port 0x510 exits; returns the byte written. */
    private static int runToPortWrite(KvmVcpu cpu) {
        int rc = cpu.run();
        assertThat(rc).as("KVM_RUN").isZero();
        assertThat(cpu.exitReason()).as("exit reason").isEqualTo(KvmIoctls.EXIT_IO);
        MemorySegment run = cpu.runPage();
        assertThat(Short.toUnsignedInt(run.get(ValueLayout.JAVA_SHORT, KvmStructs.Run.IO_PORT))).isEqualTo(0x510);
        long dataOffset = run.get(ValueLayout.JAVA_LONG, KvmStructs.Run.IO_DATA_OFFSET);
        return Byte.toUnsignedInt(run.get(ValueLayout.JAVA_BYTE, dataOffset));
    }

    @Test
    void signalMsiDeliversTheVectorToTheLocalApic() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = vmWithIrqchip(kvm); KvmVcpu cpu = vm.createVcpu(0)) {
            assertThat(vm.checkExtension(KvmIoctls.CAP_SIGNAL_MSI)).isPositive();
            IrqchipProbe.enableLapic(cpu);
            // fixed delivery, physical destination APIC id 0, vector 0x45
            int rc = vm.signalMsi(0xfee00000, 0, 0x45);
            assertThat(rc).isGreaterThanOrEqualTo(0);
            assertThat(IrqchipProbe.lapicIrr(cpu)).containsExactly(0x45);
        }
    }
}
