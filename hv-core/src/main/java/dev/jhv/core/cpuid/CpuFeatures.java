package dev.jhv.core.cpuid;

/** CPUID feature bits (Intel SDM vol. 2A, CPUID; AMD APM vol. 3) the built-in models name. */
final class CpuFeatures {
    private CpuFeatures() { }

    // Leaf 1 EDX.
    static final int FPU = 1;
    static final int VME = 1 << 1;
    static final int DE = 1 << 2;
    static final int PSE = 1 << 3;
    static final int TSC = 1 << 4;
    static final int MSR = 1 << 5;
    static final int PAE = 1 << 6;
    static final int MCE = 1 << 7;
    static final int CX8 = 1 << 8;
    static final int APIC = 1 << 9;
    static final int SEP = 1 << 11;
    static final int MTRR = 1 << 12;
    static final int PGE = 1 << 13;
    static final int MCA = 1 << 14;
    static final int CMOV = 1 << 15;
    static final int PAT = 1 << 16;
    static final int PSE36 = 1 << 17;
    static final int CLFLUSH = 1 << 19;
    static final int MMX = 1 << 23;
    static final int FXSR = 1 << 24;
    static final int SSE = 1 << 25;
    static final int SSE2 = 1 << 26;
    static final int HTT = 1 << 28;

    /** The Pentium Pro base set the QEMU x86-64 models build on. */
    static final int PPRO = FPU | DE | PSE | TSC | MSR | MCE | CX8 | PGE | CMOV | PAT | FXSR | MMX | SSE | SSE2
            | PAE | SEP | APIC;

    // Leaf 1 ECX.
    static final int SSE3 = 1;
    static final int CX16 = 1 << 13;
    static final int X2APIC = 1 << 21;
    static final int HYPERVISOR = 1 << 31;

    // Leaf 0x80000001 EDX.
    static final int SYSCALL = 1 << 11;
    static final int NX = 1 << 20;
    static final int LM = 1 << 29;
    /** Bits AMD duplicates from leaf 1 EDX into 0x80000001 EDX. */
    static final int AMD_ALIASES = 0x0183_F3FF;

    // Leaf 0x80000001 ECX.
    static final int LAHF_LM = 1;
    static final int SVM = 1 << 2;
}
