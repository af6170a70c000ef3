package dev.jhv.launcher.board;

import dev.jhv.core.cpuid.CpuModel;
import dev.jhv.core.cpuid.CpuidBuilder;
import dev.jhv.core.cpuid.CpuidEntry;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.vcpu.Vcpu;

import java.util.List;

/** Gives each vCPU the CPUID of the -cpu model, with its own APIC id and the -smp topology. */
final class Cpuid {
    private Cpuid() { }

    static void configure(Machine m, String cpuModel) {
        CpuModel model = CpuModel.byName(cpuModel == null ? "qemu64" : cpuModel);
        List<CpuidEntry> supported = m.kvm().supportedCpuid().stream().map(CpuidEntry::fromRow).toList();
        for (Vcpu v : m.vcpus()) {
            List<int[]> rows = CpuidBuilder.build(supported, model, m.topology(), v.index()).stream()
                    .map(CpuidEntry::toRow).toList();
            v.kvm().setCpuid(rows);
        }
    }
}
