package dev.jhv.launcher.board;

import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.vcpu.Vcpu;

import java.util.ArrayList;
import java.util.List;

/** CPUID for each vCPU (interim: KVM's supported set with per-vCPU APIC ids). */
final class Cpuid {
    private Cpuid() { }

    static void configure(Machine m, MachineConfig config) {
        List<int[]> supported = m.kvm().supportedCpuid();
        for (Vcpu v : m.vcpus()) {
            List<int[]> entries = new ArrayList<>();
            for (int[] e : supported) {
                int[] c = e.clone();
                if (c[0] == 1) {
                    c[4] = (c[4] & 0x00ffffff) | (v.index() << 24);
                }
                if (c[0] == 0xb || c[0] == 0x1f) {
                    c[6] = v.index();
                }
                entries.add(c);
            }
            v.kvm().setCpuid(entries);
        }
    }
}
