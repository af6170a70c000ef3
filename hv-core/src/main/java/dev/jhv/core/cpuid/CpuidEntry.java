package dev.jhv.core.cpuid;

/**
 * One CPUID leaf (function) and sub-leaf (index) with its four output registers, as in kvm_cpuid_entry2.
 * {@code flags} uses KVM's bits: {@link #FLAG_SIGNIFICANT_INDEX} says the index selects the entry.
 */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    /** KVM_CPUID_FLAG_SIGNIFCANT_INDEX. */
    public static final int FLAG_SIGNIFICANT_INDEX = 1;

    public static CpuidEntry of(int function, int eax, int ebx, int ecx, int edx) {
        return new CpuidEntry(function, 0, 0, eax, ebx, ecx, edx);
    }

    public static CpuidEntry indexed(int function, int index, int eax, int ebx, int ecx, int edx) {
        return new CpuidEntry(function, index, FLAG_SIGNIFICANT_INDEX, eax, ebx, ecx, edx);
    }

    /** From a row {function, index, flags, eax, ebx, ecx, edx} as KvmVcpu/Kvm exchange them. */
    public static CpuidEntry fromRow(int[] row) {
        if (row.length != 7) {
            throw new IllegalArgumentException("a CPUID row has 7 values, got " + row.length);
        }
        return new CpuidEntry(row[0], row[1], row[2], row[3], row[4], row[5], row[6]);
    }

    /** As a row {function, index, flags, eax, ebx, ecx, edx}. */
    public int[] toRow() {
        return new int[] {function, index, flags, eax, ebx, ecx, edx};
    }

    public CpuidEntry withRegs(int eax, int ebx, int ecx, int edx) {
        return new CpuidEntry(function, index, flags, eax, ebx, ecx, edx);
    }

    public CpuidEntry withEax(int v) {
        return withRegs(v, ebx, ecx, edx);
    }

    public CpuidEntry withEbx(int v) {
        return withRegs(eax, v, ecx, edx);
    }

    public CpuidEntry withEcx(int v) {
        return withRegs(eax, ebx, v, edx);
    }

    public CpuidEntry withEdx(int v) {
        return withRegs(eax, ebx, ecx, v);
    }
}
