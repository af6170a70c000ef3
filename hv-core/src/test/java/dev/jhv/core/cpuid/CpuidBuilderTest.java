package dev.jhv.core.cpuid;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static dev.jhv.core.cpuid.CpuFeatures.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CpuidBuilderTest {
    static final int INTEL_EBX = 0x756E6547; // "Genu"
    static final int INTEL_EDX = 0x49656E69; // "ineI"
    static final int INTEL_ECX = 0x6C65746E; // "ntel"
    static final int AMD_EBX = 0x68747541, AMD_EDX = 0x69746E65, AMD_ECX = 0x444D4163;

    // A Skylake-ish host as KVM_GET_SUPPORTED_CPUID reports it (values trimmed to what the tests look at).
    static final int HOST_1_ECX = 0xF7FA3203 | X2APIC;           // SSE3, PCLMUL, SSSE3, CX16, SSE4.x, x2APIC, AVX…
    static final int HOST_1_EDX = 0x178BFBFF & ~HTT;             // everything up to SSE2
    static final int HOST_7_EBX = 0x029C6FBB;                    // FSGSBASE, BMI, AVX2, …
    static final int HOST_EXT1_ECX = 0x121;                      // LAHF_LM, ABM, PREFETCHW
    static final int HOST_EXT1_EDX = 0x2C100800;                 // SYSCALL, NX, PDPE1GB, RDTSCP, LM

    static List<CpuidEntry> intelHost() {
        return host(INTEL_EBX, INTEL_ECX, INTEL_EDX, HOST_1_ECX, HOST_1_EDX, HOST_EXT1_EDX);
    }

    static List<CpuidEntry> host(int vb, int vc, int vd, int ecx1, int edx1, int extEdx) {
        var l = new ArrayList<CpuidEntry>();
        l.add(CpuidEntry.of(0, 0x16, vb, vc, vd));
        l.add(CpuidEntry.of(1, 0x000906EA, 0x00010800, ecx1, edx1));
        l.add(CpuidEntry.of(2, 0x00FEFF01, 0, 0, 0));
        l.add(CpuidEntry.indexed(4, 0, 0x1C004121, 0x01C0003F, 0x3F, 0));
        l.add(CpuidEntry.indexed(4, 1, 0x1C004122, 0x01C0003F, 0x3F, 0));
        l.add(CpuidEntry.indexed(4, 2, 0x1C004143, 0x00C0003F, 0x3FF, 0));
        l.add(CpuidEntry.indexed(4, 3, 0x1C03C163, 0x03C0003F, 0x3FFF, 6));
        l.add(CpuidEntry.indexed(4, 4, 0, 0, 0, 0));
        l.add(CpuidEntry.indexed(7, 0, 0, HOST_7_EBX, 0x4, 0xBC000400));
        l.add(CpuidEntry.indexed(0xB, 0, 1, 2, 0x100, 0));
        l.add(CpuidEntry.indexed(0xB, 1, 4, 12, 0x201, 0));
        l.add(CpuidEntry.indexed(0xD, 0, 0x1F, 0x440, 0x440, 0));
        l.add(CpuidEntry.indexed(0xD, 1, 0xF, 0, 0, 0));
        l.add(CpuidEntry.of(0x40000000, 0x40000001, 0x4B4D564B, 0x564B4D56, 0x4D));
        l.add(CpuidEntry.of(0x40000001, 0x01007AFB, 0, 0, 0));
        l.add(CpuidEntry.of(0x80000000, 0x80000008, 0, 0, 0));
        l.add(CpuidEntry.of(0x80000001, 0, 0, HOST_EXT1_ECX, extEdx));
        byte[] brand = "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz".getBytes(StandardCharsets.US_ASCII);
        byte[] b48 = java.util.Arrays.copyOf(brand, 48);
        var bb = ByteBuffer.wrap(b48).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 3; i++) {
            l.add(CpuidEntry.of(0x80000002 + i, bb.getInt(16 * i), bb.getInt(16 * i + 4), bb.getInt(16 * i + 8),
                    bb.getInt(16 * i + 12)));
        }
        l.add(CpuidEntry.of(0x80000006, 0, 0, 0x01006040, 0));
        l.add(CpuidEntry.of(0x80000008, 0x3027, 0, 0, 0)); // 39 physical, 48 virtual bits
        return l;
    }

    static CpuidEntry find(List<CpuidEntry> l, int function, int index) {
        return l.stream().filter(e -> e.function() == function && e.index() == index).findFirst().orElse(null);
    }

    static String brand(List<CpuidEntry> l) {
        var bb = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 3; i++) {
            var e = find(l, 0x80000002 + i, 0);
            bb.putInt(e.eax()).putInt(e.ebx()).putInt(e.ecx()).putInt(e.edx());
        }
        String s = new String(bb.array(), StandardCharsets.US_ASCII);
        return s.substring(0, s.indexOf('\0'));
    }

    @Test
    void qemu64ExposesOnlyItsFeatureWordsWithTheHostVendor() {
        var l = CpuidBuilder.build(intelHost(), CpuModel.QEMU64, Topology.of(1), 0);
        var l0 = find(l, 0, 0);
        assertThat(l0.eax()).isEqualTo(0xD);
        assertThat(new int[] {l0.ebx(), l0.edx(), l0.ecx()}).containsExactly(INTEL_EBX, INTEL_EDX, INTEL_ECX);
        var l1 = find(l, 1, 0);
        // family 15, model 107, stepping 1
        assertThat(l1.eax()).isEqualTo(0x00060FB1);
        assertThat(l1.ecx()).isEqualTo(SSE3 | CX16 | X2APIC | HYPERVISOR);
        assertThat(l1.edx()).isEqualTo(PPRO | MTRR | CLFLUSH | MCA | PSE36);
        assertThat(l1.edx() & VME).as("qemu64 has no VME").isZero();
        assertThat(l1.edx() & HTT).as("one logical CPU").isZero();
        var e1 = find(l, 0x80000001, 0);
        assertThat(e1.ecx()).as("LAHF_LM; SVM is off under KVM").isEqualTo(LAHF_LM);
        assertThat(e1.edx()).as("no RDTSCP, no 1G pages").isEqualTo(LM | SYSCALL | NX);
        assertThat(find(l, 0x80000000, 0).eax()).isEqualTo(0x8000000A);
        assertThat(brand(l)).isEqualTo("QEMU Virtual CPU version 2.5+");
        // No host-only leaves leak through: no leaf 7 features, no XSAVE leaf.
        assertThat(find(l, 7, 0)).isNull();
        assertThat(find(l, 0xD, 0)).isNull();
        // 39 host physical bits cap the model's 40.
        assertThat(find(l, 0x80000008, 0).eax()).isEqualTo(0x3027);
        // The KVM paravirtual leaves are kept as KVM gave them.
        assertThat(find(l, 0x40000000, 0)).isEqualTo(CpuidEntry.of(0x40000000, 0x40000001, 0x4B4D564B, 0x564B4D56, 0x4D));
        assertThat(find(l, 0x40000001, 0).eax()).isEqualTo(0x01007AFB);
    }

    @Test
    void kvm64DiffersFromQemu64AsQemuDefinesIt() {
        var l = CpuidBuilder.build(intelHost(), CpuModel.KVM64, Topology.of(1), 0);
        var l1 = find(l, 1, 0);
        assertThat(l1.eax()).isEqualTo(0x00000F61); // family 15, model 6, stepping 1
        assertThat(l1.edx() & VME).isEqualTo(VME);
        assertThat(find(l, 0x80000001, 0).ecx()).isZero();
        assertThat(find(l, 0x80000000, 0).eax()).isEqualTo(0x80000008);
        assertThat(brand(l)).isEqualTo("Common KVM processor");
    }

    @Test
    void modelFeaturesAreIntersectedWithWhatKvmSupports() {
        var sup = host(INTEL_EBX, INTEL_ECX, INTEL_EDX, HOST_1_ECX & ~CX16, HOST_1_EDX & ~PSE36, HOST_EXT1_EDX & ~NX);
        var l = CpuidBuilder.build(sup, CpuModel.QEMU64, Topology.of(1), 0);
        assertThat(find(l, 1, 0).ecx() & CX16).isZero();
        assertThat(find(l, 1, 0).edx() & PSE36).isZero();
        assertThat(find(l, 0x80000001, 0).edx() & NX).isZero();
        assertThat(find(l, 1, 0).ecx() & HYPERVISOR).as("always set").isNotZero();
    }

    @Test
    void hostPassesTheSupportedFeatures() {
        var l = CpuidBuilder.build(intelHost(), CpuModel.HOST, Topology.of(1), 0);
        assertThat(find(l, 0, 0).eax()).isEqualTo(0x16);
        assertThat(find(l, 1, 0).eax()).isEqualTo(0x000906EA);
        assertThat(find(l, 1, 0).ecx()).isEqualTo(HOST_1_ECX | HYPERVISOR);
        assertThat(find(l, 1, 0).edx()).isEqualTo(HOST_1_EDX);
        assertThat(find(l, 7, 0).ebx()).isEqualTo(HOST_7_EBX);
        assertThat(find(l, 0xD, 1).eax()).isEqualTo(0xF);
        assertThat(find(l, 0x80000001, 0).edx()).isEqualTo(HOST_EXT1_EDX);
        assertThat(brand(l)).startsWith("Intel(R) Core(TM) i7-8700");
        assertThat(find(l, 0x40000001, 0).eax()).isEqualTo(0x01007AFB);
        // Host leaf 0x1F is absent at level 0x16.
        assertThat(l.stream().filter(e -> e.function() == 0x1F)).isEmpty();
    }

    @Test
    void topologyLeavesDescribeThisVcpu() {
        var topo = new Topology(2, 3, 2);
        int vcpu = 7; // socket 1, core 0, thread 1 → APIC id 1<<3 | 0<<1 | 1
        assertThat(topo.apicId(vcpu)).isEqualTo(9);
        for (CpuModel m : CpuModel.values()) {
            var l = CpuidBuilder.build(intelHost(), m, topo, vcpu);
            var l1 = find(l, 1, 0);
            assertThat(l1.ebx() >>> 24).as(m + " initial APIC id").isEqualTo(9);
            assertThat((l1.ebx() >> 16) & 0xFF).as(m + " logical count").isEqualTo(6);
            assertThat((l1.ebx() >> 8) & 0xFF).as("CLFLUSH 64 bytes").isEqualTo(8);
            assertThat(l1.edx() & HTT).isEqualTo(HTT);

            var smt = find(l, 0xB, 0);
            assertThat(smt.flags() & CpuidEntry.FLAG_SIGNIFICANT_INDEX).isOne();
            assertThat(smt.eax()).isEqualTo(1);
            assertThat(smt.ebx()).isEqualTo(2);
            assertThat(smt.ecx()).isEqualTo(0x100);
            assertThat(smt.edx()).isEqualTo(9);
            var core = find(l, 0xB, 1);
            assertThat(core.eax()).isEqualTo(3);
            assertThat(core.ebx()).isEqualTo(6);
            assertThat(core.ecx()).isEqualTo(0x201);
            assertThat(core.edx()).isEqualTo(9);
            var end = find(l, 0xB, 2);
            assertThat(end.ecx() & 0xFF00).as("invalid level ends the list").isZero();
            assertThat(end.ebx()).isZero();

            var l1d = find(l, 4, 0);
            assertThat((l1d.eax() >>> 26) + 1).as(m + " cores per package").isEqualTo(3);
            assertThat(((l1d.eax() >> 14) & 0xFFF) + 1).as("L1 shared by the SMT siblings").isEqualTo(2);
            var l3 = l.stream().filter(e -> e.function() == 4 && ((e.eax() >> 5) & 7) == 3).findFirst().orElseThrow();
            assertThat(((l3.eax() >> 14) & 0xFFF) + 1).as("L3 shared by the package").isEqualTo(6);
        }
    }

    @Test
    void everyVcpuGetsItsOwnApicIdAndLeaf0x1fWhenTheHostHasIt() {
        var sup = new ArrayList<>(intelHost());
        sup.set(0, CpuidEntry.of(0, 0x1F, INTEL_EBX, INTEL_ECX, INTEL_EDX));
        var topo = new Topology(1, 4, 1);
        for (int i = 0; i < 4; i++) {
            var l = CpuidBuilder.build(sup, CpuModel.HOST, topo, i);
            assertThat(find(l, 1, 0).ebx() >>> 24).isEqualTo(i);
            assertThat(find(l, 0x1F, 0).edx()).isEqualTo(i);
            assertThat(find(l, 0x1F, 1).ebx()).isEqualTo(4);
            assertThat(find(l, 0x1F, 1).eax()).isEqualTo(2);
            assertThat(find(l, 0x1F, 0).eax()).as("no SMT bits").isZero();
        }
    }

    @Test
    void amdHostGetsAliasesAndCoreCountIn0x80000008() {
        int extEdx = HOST_EXT1_EDX | (HOST_1_EDX & AMD_ALIASES);
        var sup = host(AMD_EBX, AMD_ECX, AMD_EDX, HOST_1_ECX, HOST_1_EDX, extEdx);
        var topo = new Topology(1, 4, 2);
        var l = CpuidBuilder.build(sup, CpuModel.QEMU64, topo, 0);
        assertThat(find(l, 0, 0).ebx()).isEqualTo(AMD_EBX);
        var e1 = find(l, 0x80000001, 0);
        assertThat(e1.edx() & AMD_ALIASES).isEqualTo(find(l, 1, 0).edx() & AMD_ALIASES).isNotZero();
        var e8 = find(l, 0x80000008, 0);
        assertThat(e8.ecx() & 0xFF).isEqualTo(7);
        assertThat((e8.ecx() >> 12) & 0xF).isEqualTo(3);
        sup = new ArrayList<>(sup);
        sup.add(CpuidEntry.indexed(0x8000001D, 0, 0x00000121, 0x02C0003F, 0x3F, 0));
        sup.add(CpuidEntry.indexed(0x8000001D, 3, 0x0001C163, 0x03C0003F, 0x7FFF, 1));
        var h = CpuidBuilder.build(sup, CpuModel.HOST, topo, 0);
        assertThat(((find(h, 0x8000001D, 0).eax() >> 14) & 0xFFF) + 1).as("L1 per core").isEqualTo(2);
        assertThat(((find(h, 0x8000001D, 3).eax() >> 14) & 0xFFF) + 1).as("L3 per package").isEqualTo(8);
        assertThat(find(h, 0x80000008, 0).ecx() & 0xFF).isEqualTo(7);
        assertThat(find(h, 0x80000008, 0).eax()).isEqualTo(0x3027);
    }

    @Test
    void singleCpuHasNoHtt() {
        var l = CpuidBuilder.build(intelHost(), CpuModel.HOST, Topology.of(4), 3);
        assertThat(find(l, 1, 0).edx() & HTT).isZero();
        assertThat((find(l, 1, 0).ebx() >> 16) & 0xFF).isZero();
        assertThat(find(l, 1, 0).ebx() >>> 24).isEqualTo(3);
        assertThat(find(l, 0xB, 1).ebx()).isEqualTo(1);
    }

    @Test
    void unknownModelNamesTheValidOnes() {
        assertThat(CpuModel.byName("qemu64")).isEqualTo(CpuModel.QEMU64);
        assertThat(CpuModel.byName("host")).isEqualTo(CpuModel.HOST);
        assertThatThrownBy(() -> CpuModel.byName("pentium9"))
                .isInstanceOf(CpuidException.class)
                .hasMessageContaining("'pentium9'").hasMessageContaining("host, qemu64, kvm64");
    }

    @Test
    void entriesAreSortedAndUnique() {
        var l = CpuidBuilder.build(intelHost(), CpuModel.HOST, new Topology(1, 2, 2), 1);
        for (int i = 1; i < l.size(); i++) {
            var a = l.get(i - 1);
            var b = l.get(i);
            int c = Integer.compareUnsigned(a.function(), b.function());
            assertThat(c < 0 || (c == 0 && a.index() < b.index())).as(a + " before " + b).isTrue();
        }
    }

    @Test
    void apicIdsArePackedLikeQemu() {
        var t = new Topology(2, 3, 2);
        assertThat(t.threadBits()).isEqualTo(1);
        assertThat(t.coreBits()).isEqualTo(2);
        assertThat(java.util.stream.IntStream.range(0, 12).map(t::apicId).toArray())
                .containsExactly(0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13);
        assertThat(Topology.of(3).apicId(2)).isEqualTo(2);
        assertThatThrownBy(() -> t.apicId(12)).isInstanceOf(IllegalArgumentException.class);
    }
}
