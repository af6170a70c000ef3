package dev.jhv.core.cpuid;

import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.KvmVm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** KVM_SET_CPUID2 takes what the builder makes from this host's KVM_GET_SUPPORTED_CPUID, for every model. */
@Tag("kvm")
class CpuidKvmTest {
    @Test
    void everyModelIsAcceptedByKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm()) {
            List<CpuidEntry> supported = kvm.supportedCpuid().stream().map(CpuidEntry::fromRow).toList();
            assertThat(supported).isNotEmpty();
            var topo = new Topology(1, 2, 2);
            for (int i = 0; i < topo.maxCpus(); i++) {
                try (KvmVcpu v = vm.createVcpu(topo.apicId(i))) {
                    for (CpuModel m : CpuModel.values()) {
                        var entries = CpuidBuilder.build(supported, m, topo, i);
                        v.setCpuid(entries.stream().map(CpuidEntry::toRow).toList());
                        var leaf1 = entries.stream().filter(e -> e.function() == 1).findFirst().orElseThrow();
                        assertThat(leaf1.ebx() >>> 24).isEqualTo(topo.apicId(i));
                    }
                }
            }
        }
    }
}
