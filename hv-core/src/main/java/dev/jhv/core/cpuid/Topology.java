package dev.jhv.core.cpuid;

/**
 * The CPU topology of {@code -smp}: sockets × cores × threads. APIC ids are packed the way QEMU packs them:
 * thread id in the low bits, then core id, then socket id, each field as wide as its count needs
 * (so 3 cores take 2 bits and leave APIC-id gaps, as on real hardware).
 */
public record Topology(int sockets, int cores, int threads) {
    public Topology {
        if (sockets < 1 || cores < 1 || threads < 1) {
            throw new IllegalArgumentException("topology counts must be at least 1: sockets=" + sockets
                    + " cores=" + cores + " threads=" + threads);
        }
    }

    /** QEMU's default for {@code -smp N}: N sockets of one core with one thread. */
    public static Topology of(int cpus) {
        return new Topology(cpus, 1, 1);
    }

    /** Logical processors per socket (package). */
    public int threadsPerSocket() {
        return cores * threads;
    }

    public int maxCpus() {
        return sockets * cores * threads;
    }

    /** Width of the thread-id field in the APIC id. */
    public int threadBits() {
        return bitsFor(threads);
    }

    /** Width of the core-id field in the APIC id. */
    public int coreBits() {
        return bitsFor(cores);
    }

    /** The APIC id of the vCPU with this index (index order: threads, then cores, then sockets). */
    public int apicId(int vcpuIndex) {
        if (vcpuIndex < 0 || vcpuIndex >= maxCpus()) {
            throw new IllegalArgumentException("vCPU index " + vcpuIndex + " outside topology of " + maxCpus());
        }
        int thread = vcpuIndex % threads;
        int core = (vcpuIndex / threads) % cores;
        int socket = vcpuIndex / (threads * cores);
        return (socket << (coreBits() + threadBits())) | (core << threadBits()) | thread;
    }

    static int bitsFor(int count) {
        return count <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(count - 1);
    }
}
