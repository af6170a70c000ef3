package dev.jhv.core.cpuid;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static dev.jhv.core.cpuid.CpuFeatures.*;

/**
 * Builds the CPUID table one vCPU gets with KVM_SET_CPUID2: what KVM_GET_SUPPORTED_CPUID offers, filtered by the
 * {@code -cpu} model, with the topology leaves (1, 4, 0xB, 0x1F, 0x80000008) filled in for this vCPU's APIC id.
 */
public final class CpuidBuilder {
    static final int KVM_LEAF_FIRST = 0x4000_0000;
    static final int KVM_LEAF_LAST = 0x4000_00FF;
    static final int EXT_BASE = 0x8000_0000;
    /** Physical address bits the fixed models report (QEMU's default), capped by the host's. */
    static final int MODEL_PHYS_BITS = 40;
    static final int MODEL_VIRT_BITS = 48;
    /** CLFLUSH line size in 8-byte units (64 bytes), leaf 1 EBX[15:8]. */
    static final int CLFLUSH_LINE = 8;

    static final int LEVEL_INVALID = 0;
    static final int LEVEL_SMT = 1;
    static final int LEVEL_CORE = 2;

    private CpuidBuilder() { }

    /**
     * The CPUID entries for vCPU {@code vcpuIndex}.
     *
     * @param kvmSupported what KVM_GET_SUPPORTED_CPUID returned
     */
    public static List<CpuidEntry> build(List<CpuidEntry> kvmSupported, CpuModel model, Topology topo,
                                         int vcpuIndex) {
        var supported = new Supported(kvmSupported);
        int apicId = topo.apicId(vcpuIndex);
        List<CpuidEntry> out = model == CpuModel.HOST
                ? host(supported, topo, apicId)
                : fixedModel(supported, model.definition(), topo, apicId);
        out.sort(Comparator.comparingLong((CpuidEntry e) -> Integer.toUnsignedLong(e.function()))
                .thenComparingInt(CpuidEntry::index));
        return out;
    }

    /** Lookup in the supported list. */
    record Supported(List<CpuidEntry> entries) {
        CpuidEntry get(int function, int index) {
            for (CpuidEntry e : entries) {
                if (e.function() == function && e.index() == index) {
                    return e;
                }
            }
            for (CpuidEntry e : entries) {
                if (e.function() == function && (e.flags() & CpuidEntry.FLAG_SIGNIFICANT_INDEX) == 0) {
                    return e;
                }
            }
            return null;
        }

        CpuidEntry getOrZero(int function) {
            CpuidEntry e = get(function, 0);
            return e != null ? e : CpuidEntry.of(function, 0, 0, 0, 0);
        }

        List<CpuidEntry> all(int function) {
            return entries.stream().filter(e -> e.function() == function).toList();
        }

        int maxBasic() {
            return getOrZero(0).eax();
        }

        int maxExtended() {
            CpuidEntry e = get(EXT_BASE, 0);
            return e == null ? 0 : e.eax();
        }

        boolean isAmd() {
            CpuidEntry v = getOrZero(0);
            return v.ebx() == 0x6874_7541 && v.edx() == 0x6974_6E65 && v.ecx() == 0x444D_4163; // "AuthenticAMD"
        }
    }

    /** {@code -cpu host}: everything KVM supports, with this vCPU's topology and the hypervisor bit. */
    static List<CpuidEntry> host(Supported s, Topology topo, int apicId) {
        var out = new ArrayList<CpuidEntry>();
        int level = s.maxBasic();
        for (CpuidEntry e : s.entries()) {
            int f = e.function();
            switch (f) {
                case 1 -> out.add(leaf1(e.eax(), e.ebx(), e.ecx(), e.edx(), topo, apicId));
                case 4 -> out.add(withCacheTopology(e, topo));
                case 0xB, 0x1F -> { } // rebuilt below
                case 0x8000_0008 -> out.add(s.isAmd() ? withAmdCoreCount(e, topo) : e);
                case 0x8000_001D -> out.add(withAmdCacheSharing(e, topo));
                default -> out.add(e);
            }
        }
        if (level >= 0xB) {
            out.addAll(extendedTopology(0xB, topo, apicId));
        }
        if (level >= 0x1F) {
            out.addAll(extendedTopology(0x1F, topo, apicId));
        }
        return out;
    }

    /** {@code qemu64}/{@code kvm64}: the model's identity and features, intersected with KVM's. */
    static List<CpuidEntry> fixedModel(Supported s, CpuModel.Definition d, Topology topo, int apicId) {
        var out = new ArrayList<CpuidEntry>();
        CpuidEntry vendor = s.getOrZero(0);
        boolean amd = s.isAmd();
        out.add(CpuidEntry.of(0, d.level(), vendor.ebx(), vendor.ecx(), vendor.edx()));

        CpuidEntry sup1 = s.getOrZero(1);
        int edx1 = d.features1Edx() & sup1.edx();
        int ecx1 = d.features1Ecx() & sup1.ecx();
        out.add(leaf1(d.signature(), 0, ecx1, edx1, topo, apicId));

        if (d.level() >= 2) {
            out.add(CpuidEntry.of(2, 0x0000_FF01, 0, 0, 0)); // one round, descriptor 0xFF: see leaf 4
        }
        if (d.level() >= 4) {
            for (ModelCache c : ModelCache.values()) {
                out.add(withCacheTopology(c.leaf4(), topo));
            }
            out.add(CpuidEntry.indexed(4, ModelCache.values().length, 0, 0, 0, 0));
        }
        if (d.level() >= 0xB) {
            out.addAll(extendedTopology(0xB, topo, apicId));
        }
        for (int f = KVM_LEAF_FIRST; f <= KVM_LEAF_LAST; f++) {
            out.addAll(s.all(f));
        }

        out.add(CpuidEntry.of(EXT_BASE, d.xlevel(), vendor.ebx(), vendor.ecx(), vendor.edx()));
        CpuidEntry supExt1 = s.getOrZero(0x8000_0001);
        int extEdx = d.ext1Edx();
        if (amd) {
            extEdx |= edx1 & AMD_ALIASES; // AMD repeats these leaf-1 bits; KVM lists them only on AMD hosts
        }
        out.add(CpuidEntry.of(0x8000_0001, d.signature(), 0, d.ext1Ecx() & supExt1.ecx(), extEdx & supExt1.edx()));
        if (Integer.compareUnsigned(d.xlevel(), 0x8000_0004) >= 0) {
            byte[] id = new byte[48];
            byte[] name = d.modelId().getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(name, 0, id, 0, Math.min(name.length, 47));
            for (int i = 0; i < 3; i++) {
                out.add(CpuidEntry.of(0x8000_0002 + i, le(id, 16 * i), le(id, 16 * i + 4), le(id, 16 * i + 8),
                        le(id, 16 * i + 12)));
            }
        }
        if (Integer.compareUnsigned(d.xlevel(), 0x8000_0006) >= 0) {
            out.add(CpuidEntry.of(0x8000_0006, 0, 0, ModelCache.L2.amdLeaf6Ecx(), 0));
        }
        if (Integer.compareUnsigned(d.xlevel(), 0x8000_0008) >= 0) {
            int hostBits = s.getOrZero(0x8000_0008).eax();
            int phys = hostBits == 0 ? MODEL_PHYS_BITS : Math.min(MODEL_PHYS_BITS, hostBits & 0xFF);
            int virt = hostBits == 0 ? MODEL_VIRT_BITS : Math.min(MODEL_VIRT_BITS, (hostBits >> 8) & 0xFF);
            CpuidEntry e = CpuidEntry.of(0x8000_0008, phys | virt << 8, 0, 0, 0);
            out.add(amd ? withAmdCoreCount(e, topo) : e);
        }
        return out;
    }

    /** Leaf 1 with this vCPU's initial APIC id, the logical processor count, CLFLUSH size, HTT and hypervisor bit. */
    static CpuidEntry leaf1(int eax, int supportedEbx, int ecx, int edx, Topology topo, int apicId) {
        int ebx = (supportedEbx & 0xFF) | CLFLUSH_LINE << 8 | (apicId & 0xFF) << 24;
        int perSocket = topo.threadsPerSocket();
        if (perSocket > 1) {
            ebx |= Math.min(perSocket, 0xFF) << 16;
            edx |= HTT;
        } else {
            edx &= ~HTT;
        }
        return CpuidEntry.of(1, eax, ebx, ecx | HYPERVISOR, edx);
    }

    /**
     * Leaf 4 EAX[31:26] (cores per package - 1) and EAX[25:14] (logical processors sharing the cache - 1):
     * L1 and L2 are per core, L3 per package.
     */
    static CpuidEntry withCacheTopology(CpuidEntry e, Topology topo) {
        int type = e.eax() & 0x1F;
        if (type == 0) {
            return e;
        }
        int level = (e.eax() >> 5) & 7;
        int sharing = level >= 3 ? topo.threadsPerSocket() : topo.threads();
        int eax = e.eax() & 0x3FFF
                | (Math.min(sharing - 1, 0xFFF)) << 14
                | (Math.min(topo.cores() - 1, 0x3F)) << 26;
        return new CpuidEntry(4, e.index(), CpuidEntry.FLAG_SIGNIFICANT_INDEX, eax, e.ebx(), e.ecx(), e.edx());
    }

    /** AMD 0x8000001D (cache topology) EAX[25:14]: logical processors sharing the cache - 1. */
    static CpuidEntry withAmdCacheSharing(CpuidEntry e, Topology topo) {
        if ((e.eax() & 0x1F) == 0) {
            return e;
        }
        int level = (e.eax() >> 5) & 7;
        int sharing = level >= 3 ? topo.threadsPerSocket() : topo.threads();
        return e.withEax(e.eax() & ~(0xFFF << 14) | Math.min(sharing - 1, 0xFFF) << 14);
    }

    /** Leaf 0xB or 0x1F: SMT level, core level, then the invalid level that ends the list; EDX is the x2APIC id. */
    static List<CpuidEntry> extendedTopology(int function, Topology topo, int apicId) {
        int smtShift = topo.threadBits();
        int coreShift = topo.threadBits() + topo.coreBits();
        return List.of(
                CpuidEntry.indexed(function, 0, smtShift, topo.threads(), LEVEL_SMT << 8, apicId),
                CpuidEntry.indexed(function, 1, coreShift, topo.threadsPerSocket(), LEVEL_CORE << 8 | 1, apicId),
                CpuidEntry.indexed(function, 2, 0, 0, LEVEL_INVALID << 8 | 2, apicId));
    }

    /** AMD 0x80000008 ECX: NC (threads per package - 1) and ApicIdCoreIdSize. */
    static CpuidEntry withAmdCoreCount(CpuidEntry e, Topology topo) {
        int nc = Math.min(topo.threadsPerSocket() - 1, 0xFF);
        int idSize = topo.coreBits() + topo.threadBits();
        return e.withEcx((e.ecx() & ~0xF0FF) | nc | idSize << 12);
    }

    private static int le(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16 | (b[off + 3] & 0xFF) << 24;
    }

    /** The caches the fixed models report (QEMU's legacy cache model), so they look the same on every host. */
    enum ModelCache {
        L1D(1, 1, 32 * 1024, 8, 64),
        L1I(2, 1, 32 * 1024, 8, 64),
        L2(3, 2, 4 * 1024 * 1024, 16, 64),
        L3(3, 3, 16 * 1024 * 1024, 16, 64);

        final int type;
        final int level;
        final int size;
        final int ways;
        final int line;

        ModelCache(int type, int level, int size, int ways, int line) {
            this.type = type;
            this.level = level;
            this.size = size;
            this.ways = ways;
            this.line = line;
        }

        int sets() {
            return size / (ways * line);
        }

        /** Deterministic cache parameters, topology fields left 0. Self-initialising; L2/L3 inclusive-free. */
        CpuidEntry leaf4() {
            int eax = type | level << 5 | 1 << 8;
            int ebx = (ways - 1) << 22 | (line - 1);
            int edx = level == 3 ? 1 << 2 | 1 << 1 : 0; // L3: inclusive, complex indexing
            return CpuidEntry.indexed(4, ordinal(), eax, ebx, sets() - 1, edx);
        }

        /** 0x80000006 ECX: L2 size in KiB, associativity code (16-way = 8), line size. */
        int amdLeaf6Ecx() {
            return (size / 1024) << 16 | 0x8 << 12 | line;
        }
    }
}
