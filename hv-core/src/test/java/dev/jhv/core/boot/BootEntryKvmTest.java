package dev.jhv.core.boot;

import dev.jhv.core.acpi.AcpiTables;
import dev.jhv.core.cpuid.CpuModel;
import dev.jhv.core.cpuid.CpuidBuilder;
import dev.jhv.core.cpuid.CpuidEntry;
import dev.jhv.core.cpuid.Topology;
import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.kvm.Regs;
import dev.jhv.core.kvm.Sregs;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.core.sys.Libc;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Enters tiny guests through both boot paths on real KVM with the entry state, page tables, GDT and CPUID this
 * package builds, and has them report what they see on port 0xF4.
 */
@Tag("kvm")
class BootEntryKvmTest {
    static final long RAM = 8 * MemoryMap.MIB;
    static final int PORT = 0xF4;

    @TempDir
    Path dir;

    // 64-bit code at startup_64 (load + 0x200). RSI = boot_params.
    static final byte[] CODE64 = bytes(
            0x8B, 0x86, 0x02, 0x02, 0x00, 0x00,       // mov eax, [rsi+0x202]   "HdrS"
            0x66, 0xBA, 0xF4, 0x00,                   // mov dx, 0xf4
            0xEF,                                     // out dx, eax
            0x48, 0x8D, 0x05, 0x00, 0x00, 0x00, 0x00, // lea rax, [rip]         only means this in 64-bit mode
            0xEF,                                     // out dx, eax            (at offset 18)
            0x8C, 0xD0,                               // mov eax, ss
            0xEF,                                     // out dx, eax
            0xB8, 0x01, 0x00, 0x00, 0x00,             // mov eax, 1
            0x31, 0xC9,                               // xor ecx, ecx
            0x0F, 0xA2,                               // cpuid
            0x89, 0xD8,                               // mov eax, ebx
            0x66, 0xBA, 0xF4, 0x00,                   // mov dx, 0xf4
            0xEF,                                     // out dx, eax
            0xB8, 0x02, 0x00, 0x00, 0x80,             // mov eax, 0x80000002
            0x0F, 0xA2,                               // cpuid
            0x66, 0xBA, 0xF4, 0x00,                   // mov dx, 0xf4
            0xEF,                                     // out dx, eax
            0xF4);                                    // hlt

    // 32-bit PVH entry. EBX = hvm_start_info.
    static final byte[] CODE32 = bytes(
            0x8B, 0x03,                               // mov eax, [ebx]         magic
            0x66, 0xBA, 0xF4, 0x00,                   // mov dx, 0xf4
            0xEF,                                     // out dx, eax
            0x8C, 0xD8,                               // mov eax, ds
            0xEF,                                     // out dx, eax
            0x0F, 0x20, 0xC0,                         // mov eax, cr0
            0xEF,                                     // out dx, eax
            0xB8, 0x02, 0x00, 0x00, 0x80,             // mov eax, 0x80000002
            0x0F, 0xA2,                               // cpuid
            0x66, 0xBA, 0xF4, 0x00,                   // mov dx, 0xf4
            0xEF,                                     // out dx, eax
            0xF4);                                    // hlt

    static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    @Test
    void bzImageEntersLongModeWithBootParamsAndCpuid() throws IOException {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        byte[] img = TestImages.bzImage(false, 0x100000, 0x100000, 1, 255, 0x7FFFFFFF);
        int setup = (TestImages.SETUP_SECTS + 1) * 512;
        System.arraycopy(CODE64, 0, img, setup + 0x200, CODE64.length);
        Path k = Files.write(dir.resolve("bzImage"), img);
        var topo = new Topology(1, 4, 1);
        List<Integer> outs = boot(k, CpuModel.QEMU64, topo, 3, 5);
        assertThat(outs.get(0)).isEqualTo(0x53726448);
        assertThat(outs.get(1)).as("RIP-relative address: 64-bit mode at load + 0x200").isEqualTo(0x100200 + 18);
        assertThat(outs.get(2) & 0xFFFF).isEqualTo(BootLayout.BOOT_DS);
        assertThat(outs.get(3) >>> 24).as("initial APIC id").isEqualTo(3);
        assertThat((outs.get(3) >> 16) & 0xFF).as("logical processors").isEqualTo(4);
        assertThat(outs.get(4)).as("brand string starts with QEMU").isEqualTo(0x554D4551);
    }

    @Test
    void pvhEntersProtectedModeWithStartInfo() throws IOException {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        byte[] elf = TestImages.pvhElf(false, 0x100000, 0x1000, 0x2000, 0x100000, true);
        System.arraycopy(CODE32, 0, elf, 0x1000, CODE32.length);
        Path k = Files.write(dir.resolve("vmlinux"), elf);
        List<Integer> outs = boot(k, CpuModel.KVM64, Topology.of(1), 0, 4);
        assertThat(outs.get(0)).isEqualTo(0x336EC578);
        assertThat(outs.get(1) & 0xFFFF).isEqualTo(BootLayout.BOOT_DS);
        assertThat(outs.get(2) & 0x80000001).as("PE on, PG off").isEqualTo(1);
        assertThat(outs.get(3)).as("brand string starts with Comm").isEqualTo(0x6D6D6F43);
    }

    /** Boots the kernel on one vCPU (index {@code vcpu} of the topology) and collects {@code n} dwords from PORT. */
    static List<Integer> boot(Path kernel, CpuModel model, Topology topo, int vcpu, int n) {
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm()) {
            vm.setTssAddr(KvmVm.TSS_ADDR);
            vm.setIdentityMapAddr(KvmVm.IDENTITY_MAP_ADDR);
            MemorySegment ram = Libc.mmap(RAM, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_SHARED | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
            try {
                vm.setUserMemoryRegion(0, 0, 0, ram);
                var map = new MemoryMap(RAM);
                var mem = new GuestMemory(List.of(new GuestMemory.Region(0, ram)));
                long rsdp = AcpiTables.build(mem, map, topo, topo.maxCpus());
                BootSetup setup = KernelLoader.load(kernel, null, "console=ttyS0", mem, map, rsdp);

                KvmVcpu v = vm.createVcpu(topo.apicId(vcpu));
                List<CpuidEntry> supported = kvm.supportedCpuid().stream().map(CpuidEntry::fromRow).toList();
                v.setCpuid(CpuidBuilder.build(supported, model, topo, vcpu).stream().map(CpuidEntry::toRow).toList());
                Regs regs = v.getRegs();
                Sregs sregs = v.getSregs();
                setup.entry().applyTo(regs, sregs);
                v.setSregs(sregs);
                v.setRegs(regs);

                MemorySegment run = v.runPage();
                var outs = new ArrayList<Integer>();
                for (int i = 0; i < 1000 && outs.size() < n; i++) {
                    int rc = v.run();
                    if (rc == -4) {
                        continue; // EINTR
                    }
                    assertThat(rc).as("KVM_RUN").isZero();
                    int reason = v.exitReason();
                    assertThat(reason).as("exit reason (outs so far %s)", outs).isEqualTo(KvmIoctls.EXIT_IO);
                    assertThat(Short.toUnsignedInt(run.get(ValueLayout.JAVA_SHORT, KvmStructs.Run.IO_PORT)))
                            .isEqualTo(PORT);
                    long data = run.get(ValueLayout.JAVA_LONG, KvmStructs.Run.IO_DATA_OFFSET);
                    outs.add(run.get(ValueLayout.JAVA_INT_UNALIGNED, data));
                }
                assertThat(outs).hasSize(n);
                v.close();
                return outs;
            } finally {
                Libc.munmap(ram);
            }
        }
    }
}
