package dev.jhv.core.machine;

import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.kvm.Regs;
import dev.jhv.core.kvm.Sregs;
import dev.jhv.core.device.StatefulRoundTrip;
import dev.jhv.core.inkernel.KvmClock;
import dev.jhv.core.inkernel.KvmIrqchip;
import dev.jhv.core.inkernel.KvmPit;
import dev.jhv.core.vcpu.CpuDevice;
import dev.jhv.core.vmstate.SaveOptions;
import dev.jhv.core.vmstate.VMStateRoundTrip;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The generated round trip (save, load into a fresh instance, save again: same bytes) for the descriptions whose
 * state lives in KVM: each vCPU and the in-kernel PIC/IOAPIC. The PIT and the KVM clock carry host timestamps that
 * move between two reads, so they are checked field by field with the timestamps left out.
 */
@Tag("kvm")
class KvmStateRoundTripTest {
    /** MSRs with values a guest sets; the TSC is left out because it advances between the two saves. */
    private static final int[] MSRS = {0x174, 0x175, 0x176, 0x277, 0xc0000081, 0xc0000082, 0xc0000084, 0xc0000102};

    private static KvmVm vm(Kvm kvm) {
        KvmVm vm = kvm.createVm();
        vm.setTssAddr(KvmVm.TSS_ADDR);
        vm.setIdentityMapAddr(KvmVm.IDENTITY_MAP_ADDR);
        vm.createIrqchip();
        vm.createPit2();
        return vm;
    }

    @Test
    void vcpuStateRoundTripsThroughAFreshVcpu() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm1 = vm(kvm); KvmVm vm2 = vm(kvm);
                KvmVcpu a = vm1.createVcpu(0); KvmVcpu b = vm2.createVcpu(0)) {
            Regs r = a.getRegs();
            r.set(Regs.Reg.RAX, 0x1122_3344_5566_7788L);
            r.set(Regs.Reg.RSP, 0x7000);
            r.set(Regs.Reg.RIP, 0x10_0000);
            a.setRegs(r);
            Sregs s = a.getSregs();
            s.setCr3(0x9000);
            a.setSregs(s);
            a.setMsrs(MSRS, new long[] {0x10, 0xffff_8000_0000_1000L, 0xffff_8000_0000_2000L, 0x0007_0406_0007_0406L,
                    0x0023_0010_0000_0000L, 0xffff_ffff_8100_0000L, 0x4_7700, 0xffff_8880_0000_0000L});
            int rounds = StatefulRoundTrip.check(new CpuDevice(0, a, MSRS), () -> new CpuDevice(0, b, MSRS));
            assertThat(rounds).isPositive();
            assertThat(b.getRegs().get(Regs.Reg.RAX)).isEqualTo(0x1122_3344_5566_7788L);
            assertThat(b.getMsrs(new int[] {0xc0000082})[0]).isEqualTo(0xffff_ffff_8100_0000L);
        }
    }

    @Test
    void irqchipStateRoundTripsThroughAFreshVm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm1 = vm(kvm); KvmVm vm2 = vm(kvm)) {
            byte[] ioapic = vm1.getIrqchip(KvmIoctls.IRQCHIP_IOAPIC);
            // kvm_irqchip: chip_id, pad, then kvm_ioapic_state {base_address u64, ioregsel u32, id u32, irr u32,
            // pad u32, redirtbl[24] u64}: route pin 4 to vector 0x24, unmasked
            MemorySegment.ofArray(ioapic).set(ValueLayout.JAVA_LONG_UNALIGNED, 8 + 24 + 4 * 8, 0x24L);
            vm1.setIrqchip(ioapic);
            int rounds = StatefulRoundTrip.check(new KvmIrqchip(vm1), () -> new KvmIrqchip(vm2));
            assertThat(rounds).isPositive();
            assertThat(vm2.getIrqchip(KvmIoctls.IRQCHIP_IOAPIC)).isEqualTo(ioapic);
        }
    }

    @Test
    void pitAndClockLoadIntoAFreshVm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm1 = vm(kvm); KvmVm vm2 = vm(kvm)) {
            byte[] pit = new KvmPit(vm1).saveState();
            new KvmPit(vm2).loadState(pit, 1);
            assertThat(withoutLoadTimes(vm2.getPit2())).isEqualTo(withoutLoadTimes(vm1.getPit2()));

            byte[] clock = new KvmClock(vm1).saveState();
            long sourceNs = ByteBuffer.wrap(clock).getLong();
            new KvmClock(vm2).loadState(clock, 1);
            long loadedNs = MemorySegment.ofArray(vm2.getClock()).get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
            // the destination's clock carries on from the saved value (it keeps running, so a loose upper bound)
            assertThat(loadedNs).isBetween(sourceNs, sourceNs + 60_000_000_000L);
        }
    }

    /** kvm_pit_state2: three 24-byte channels whose last 8 bytes are count_load_time (a host ktime). */
    private static byte[] withoutLoadTimes(byte[] pit) {
        byte[] b = pit.clone();
        for (int ch = 0; ch < 3; ch++) {
            Arrays.fill(b, ch * 24 + 16, ch * 24 + 24, (byte) 0);
        }
        return b;
    }
}
