package dev.jhv.core.vcpu;

import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.kvm.Regs;
import dev.jhv.core.kvm.Sregs;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Tag("kvm")
class CpuStateTest {
    @Test
    void stateReadFromOneVcpuWrittenToAnotherReadsBackTheSame() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm()) {
            vm.setTssAddr(KvmVm.TSS_ADDR);
            vm.setIdentityMapAddr(KvmVm.IDENTITY_MAP_ADDR);
            vm.createIrqchip();
            try (KvmVcpu a = vm.createVcpu(0); KvmVcpu b = vm.createVcpu(1)) {
                Regs r = a.getRegs();
                r.set(Regs.Reg.RAX, 0x1234_5678_9abc_def0L);
                r.set(Regs.Reg.RIP, 0xfff0);
                a.setRegs(r);
                Sregs s = a.getSregs();
                s.setCr3(0x9000);
                a.setSregs(s);
                int[] msrs = {0x1a0, 0x2ff, 0xc0000081, 0xc0000082};
                a.setMsrs(msrs, new long[] {1, 0xc06, 0x0023_0010_0000_0000L, 0xffff_ffff_8100_0000L});

                CpuState st = CpuState.read(a, msrs);
                st.write(b);
                CpuState back = CpuState.read(b, msrs);
                assertThat(back.regs()).isEqualTo(st.regs());
                assertThat(new Sregs(back.sregs()).cr3()).isEqualTo(0x9000);
                assertThat(back.msrValues()).containsExactly(1, 0xc06, 0x0023_0010_0000_0000L, 0xffff_ffff_8100_0000L);
                assertThat(back.mpState()).isEqualTo(st.mpState());
                assertThat(back.xcrs()).isEqualTo(st.xcrs());
                // The LAPIC id register differs per vCPU (it comes with the state); the rest must match.
                assertThat(back.lapic()).isEqualTo(st.lapic());
            }
        }
    }
}
