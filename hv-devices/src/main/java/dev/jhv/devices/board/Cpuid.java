package dev.jhv.devices.board;

import dev.jhv.core.cpuid.CpuModel;
import dev.jhv.core.cpuid.CpuidBuilder;
import dev.jhv.core.cpuid.CpuidEntry;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.vcpu.Vcpu;

import java.util.List;

/** Gives each vCPU the CPUID of the -cpu model, with its own APIC id and the -smp topology. */
final class Cpuid {
    private Cpuid() { }

    /** SHA-256 over the boot vCPU's CPUID, so that a destination with another CPU is refused by name. */
    private static String digest(List<CpuidEntry> entries) {
        try {
            var md = java.security.MessageDigest.getInstance("SHA-256");
            for (CpuidEntry e : entries) {
                for (int x : e.toRow()) {
                    md.update(new byte[] {(byte) x, (byte) (x >> 8), (byte) (x >> 16), (byte) (x >> 24)});
                }
            }
            return java.util.HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The boot vCPU's CPUID leaf 1 EAX (signature) and EDX (features): SMBIOS's processor ID. */
    static long processorId(Machine m, String cpuModel) {
        CpuModel model = CpuModel.byName(cpuModel == null ? "qemu64" : cpuModel);
        List<CpuidEntry> supported = m.kvm().supportedCpuid().stream().map(CpuidEntry::fromRow).toList();
        for (CpuidEntry e : CpuidBuilder.build(supported, model, m.topology(), 0)) {
            if (e.function() == 1) {
                return Integer.toUnsignedLong(e.eax()) | (long) e.edx() << 32;
            }
        }
        return 0;
    }

    static void configure(Machine m, String cpuModel) {
        CpuModel model = CpuModel.byName(cpuModel == null ? "qemu64" : cpuModel);
        List<CpuidEntry> supported = m.kvm().supportedCpuid().stream().map(CpuidEntry::fromRow).toList();
        for (Vcpu v : m.vcpus()) {
            List<CpuidEntry> entries = CpuidBuilder.build(supported, model, m.topology(), v.index());
            if (v.index() == 0) {
                m.setCpuidDigest(() -> digest(entries));
            }
            v.kvm().setCpuid(entries.stream().map(CpuidEntry::toRow).toList());
        }
    }
}
