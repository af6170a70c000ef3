package dev.jhv.core.cpuid;

import java.util.Arrays;
import java.util.stream.Collectors;

import static dev.jhv.core.cpuid.CpuFeatures.*;

/**
 * The {@code -cpu} models. {@code host} passes on what KVM supports; {@code qemu64} and {@code kvm64} are QEMU's
 * generic x86-64 models (target/i386/cpu.c), with the adjustments QEMU makes under KVM: x2APIC on, SVM off, and the
 * host's vendor string (family/model/stepping stay the model's).
 */
public enum CpuModel {
    HOST("host", null),
    QEMU64("qemu64", new Definition(0xD, 0x8000_000A, 15, 107, 1,
            PPRO | MTRR | CLFLUSH | MCA | PSE36,
            SSE3 | CX16 | X2APIC,
            LM | SYSCALL | NX,
            LAHF_LM,
            "QEMU Virtual CPU version 2.5+")),
    KVM64("kvm64", new Definition(0xD, 0x8000_0008, 15, 6, 1,
            PPRO | VME | MTRR | CLFLUSH | MCA | PSE36,
            SSE3 | CX16 | X2APIC,
            LM | SYSCALL | NX,
            0,
            "Common KVM processor"));

    /** A fixed model's CPUID identity and feature words. */
    public record Definition(int level, int xlevel, int family, int model, int stepping,
                             int features1Edx, int features1Ecx, int ext1Edx, int ext1Ecx, String modelId) {
        /** Leaf 1 EAX: stepping, model, family with the extended fields as the SDM composes them. */
        public int signature() {
            int baseFamily = Math.min(family, 0xF);
            int extFamily = family > 0xF ? family - 0xF : 0;
            return (stepping & 0xF) | (model & 0xF) << 4 | baseFamily << 8 | ((model >> 4) & 0xF) << 16
                    | extFamily << 20;
        }
    }

    private final String cpuName;
    private final Definition definition;

    CpuModel(String cpuName, Definition definition) {
        this.cpuName = cpuName;
        this.definition = definition;
    }

    /** The name on the command line. */
    public String cpuName() {
        return cpuName;
    }

    /** The fixed definition, or null for {@code host}. */
    public Definition definition() {
        return definition;
    }

    /** The model for a {@code -cpu} name; unknown names fail with the list of valid ones. */
    public static CpuModel byName(String name) {
        for (CpuModel m : values()) {
            if (m.cpuName.equals(name)) {
                return m;
            }
        }
        throw new CpuidException("unable to find CPU model '" + name + "' (valid models: "
                + Arrays.stream(values()).map(CpuModel::cpuName).collect(Collectors.joining(", ")) + ")");
    }
}
