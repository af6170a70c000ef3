package dev.jhv.core.kvm;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Checks our FFM layouts and ioctl numbers against linux/kvm.h, compiled by the real gcc. */
class KvmStructsTest {
    private static final Map<String, Long> C = new HashMap<>();

    @BeforeAll
    static void compileProbe() throws Exception {
        Path dir = Files.createTempDirectory("kvmprobe");
        Path src = dir.resolve("probe.c");
        Files.writeString(src, """
                #include <stdio.h>
                #include <stddef.h>
                #include <linux/kvm.h>
                #define S(t) printf("sizeof %s %zu\\n", #t, sizeof(struct t));
                #define O(t, f) printf("offsetof %s.%s %zu\\n", #t, #f, offsetof(struct t, f));
                #define I(n) printf("ioctl %s %lu\\n", #n, (unsigned long)(n));
                #define V(n) printf("value %s %lu\\n", #n, (unsigned long)(n));
                int main(void) {
                  S(kvm_userspace_memory_region) S(kvm_regs) S(kvm_segment) S(kvm_dtable) S(kvm_sregs)
                  S(kvm_cpuid_entry2) S(kvm_irq_level) S(kvm_pit_config) S(kvm_irq_routing_entry) S(kvm_msr_entry)
                  S(kvm_lapic_state) S(kvm_mp_state) S(kvm_dirty_log) S(kvm_irqfd) S(kvm_ioeventfd) S(kvm_clock_data)
                  S(kvm_irqchip) S(kvm_pit_state2) S(kvm_vcpu_events) S(kvm_debugregs) S(kvm_xcrs) S(kvm_fpu)
                  S(kvm_xsave) S(kvm_enable_cap) S(kvm_clear_dirty_log) S(kvm_msi)
                  O(kvm_irq_routing_entry, u.irqchip.pin) O(kvm_irq_routing_entry, u.msi.address_lo)
                  O(kvm_irq_routing_entry, u.msi.address_hi) O(kvm_irq_routing_entry, u.msi.data)
                  O(kvm_msi, data) O(kvm_ioeventfd, datamatch) O(kvm_ioeventfd, addr) O(kvm_ioeventfd, len)
                  O(kvm_ioeventfd, flags) O(kvm_irqfd, gsi) O(kvm_irqfd, flags)
                  V(KVM_CAP_IRQ_ROUTING) V(KVM_CAP_IRQFD) V(KVM_CAP_IOEVENTFD) V(KVM_CAP_SIGNAL_MSI)
                  V(KVM_CAP_IRQFD_RESAMPLE) V(KVM_CAP_IOEVENTFD_ANY_LENGTH) V(KVM_IRQ_ROUTING_IRQCHIP)
                  V(KVM_IRQ_ROUTING_MSI) V(KVM_IRQFD_FLAG_DEASSIGN) V(KVM_IRQFD_FLAG_RESAMPLE)
                  V(KVM_IOEVENTFD_FLAG_DATAMATCH) V(KVM_IOEVENTFD_FLAG_PIO) V(KVM_IOEVENTFD_FLAG_DEASSIGN)
                  O(kvm_clear_dirty_log, num_pages) O(kvm_clear_dirty_log, first_page)
                  O(kvm_clear_dirty_log, dirty_bitmap) O(kvm_enable_cap, args)
                  V(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) V(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
                  V(KVM_DIRTY_LOG_INITIALLY_SET)
                  O(kvm_sregs, gdt) O(kvm_sregs, cr0) O(kvm_sregs, efer) O(kvm_sregs, interrupt_bitmap)
                  O(kvm_segment, selector) O(kvm_segment, type) O(kvm_segment, unusable)
                  O(kvm_run, immediate_exit) O(kvm_run, exit_reason) O(kvm_run, cr8) O(kvm_run, io)
                  O(kvm_run, io.port) O(kvm_run, io.count) O(kvm_run, io.data_offset)
                  O(kvm_run, mmio.data) O(kvm_run, mmio.len) O(kvm_run, mmio.is_write)
                  O(kvm_run, internal.ndata) O(kvm_run, internal.data) O(kvm_run, fail_entry.cpu)
                  O(kvm_irq_routing_entry, u) O(kvm_dirty_log, dirty_bitmap) O(kvm_clock_data, realtime)
                  O(kvm_ioeventfd, fd) O(kvm_irqfd, resamplefd) O(kvm_xcrs, xcrs)
                  I(KVM_GET_API_VERSION) I(KVM_CREATE_VM) I(KVM_GET_MSR_INDEX_LIST) I(KVM_CHECK_EXTENSION)
                  I(KVM_GET_VCPU_MMAP_SIZE) I(KVM_GET_SUPPORTED_CPUID) I(KVM_CREATE_VCPU) I(KVM_GET_DIRTY_LOG)
                  I(KVM_SET_USER_MEMORY_REGION) I(KVM_SET_TSS_ADDR) I(KVM_SET_IDENTITY_MAP_ADDR) I(KVM_CREATE_IRQCHIP)
                  I(KVM_IRQ_LINE) I(KVM_GET_IRQCHIP) I(KVM_SET_IRQCHIP) I(KVM_SET_GSI_ROUTING) I(KVM_IRQFD)
                  I(KVM_CREATE_PIT2) I(KVM_IOEVENTFD) I(KVM_SET_CLOCK) I(KVM_GET_CLOCK) I(KVM_GET_PIT2) I(KVM_SET_PIT2)
                  I(KVM_ENABLE_CAP) I(KVM_RUN) I(KVM_GET_REGS) I(KVM_SET_REGS) I(KVM_GET_SREGS) I(KVM_SET_SREGS)
                  I(KVM_GET_MSRS) I(KVM_SET_MSRS) I(KVM_SET_SIGNAL_MASK) I(KVM_GET_FPU) I(KVM_SET_FPU) I(KVM_GET_LAPIC)
                  I(KVM_SET_LAPIC) I(KVM_SET_CPUID2) I(KVM_GET_MP_STATE) I(KVM_SET_MP_STATE) I(KVM_GET_VCPU_EVENTS)
                  I(KVM_SET_VCPU_EVENTS) I(KVM_GET_DEBUGREGS) I(KVM_SET_DEBUGREGS) I(KVM_GET_XSAVE) I(KVM_SET_XSAVE)
                  I(KVM_GET_XCRS) I(KVM_SET_XCRS) I(KVM_GET_TSC_KHZ) I(KVM_SET_TSC_KHZ)
                  I(KVM_CLEAR_DIRTY_LOG) I(KVM_SIGNAL_MSI)
                  return 0;
                }
                """);
        Path exe = dir.resolve("probe");
        Process cc = new ProcessBuilder("gcc", "-o", exe.toString(), src.toString()).redirectErrorStream(true).start();
        String ccOut = new String(cc.getInputStream().readAllBytes());
        assumeTrue(cc.waitFor(60, TimeUnit.SECONDS) && cc.exitValue() == 0, "gcc with linux/kvm.h unavailable: " + ccOut);
        Process run = new ProcessBuilder(exe.toString()).start();
        for (String line : new String(run.getInputStream().readAllBytes()).split("\n")) {
            String[] p = line.split(" ");
            C.put(p[0] + " " + p[1], Long.parseLong(p[2]));
        }
        run.waitFor();
    }

    private static long c(String key) {
        assertThat(C).containsKey(key);
        return C.get(key);
    }

    @Test
    void structSizesMatchTheKernelHeaders() {
        Map<String, MemoryLayout> ours = Map.ofEntries(
                Map.entry("kvm_userspace_memory_region", KvmStructs.USERSPACE_MEMORY_REGION),
                Map.entry("kvm_regs", KvmStructs.REGS), Map.entry("kvm_segment", KvmStructs.SEGMENT),
                Map.entry("kvm_dtable", KvmStructs.DTABLE), Map.entry("kvm_sregs", KvmStructs.SREGS),
                Map.entry("kvm_cpuid_entry2", KvmStructs.CPUID_ENTRY2), Map.entry("kvm_irq_level", KvmStructs.IRQ_LEVEL),
                Map.entry("kvm_pit_config", KvmStructs.PIT_CONFIG),
                Map.entry("kvm_irq_routing_entry", KvmStructs.IRQ_ROUTING_ENTRY),
                Map.entry("kvm_msr_entry", KvmStructs.MSR_ENTRY), Map.entry("kvm_lapic_state", KvmStructs.LAPIC_STATE),
                Map.entry("kvm_mp_state", KvmStructs.MP_STATE), Map.entry("kvm_dirty_log", KvmStructs.DIRTY_LOG),
                Map.entry("kvm_irqfd", KvmStructs.IRQFD), Map.entry("kvm_ioeventfd", KvmStructs.IOEVENTFD),
                Map.entry("kvm_clock_data", KvmStructs.CLOCK_DATA), Map.entry("kvm_irqchip", KvmStructs.IRQCHIP),
                Map.entry("kvm_pit_state2", KvmStructs.PIT_STATE2), Map.entry("kvm_vcpu_events", KvmStructs.VCPU_EVENTS),
                Map.entry("kvm_debugregs", KvmStructs.DEBUGREGS), Map.entry("kvm_xcrs", KvmStructs.XCRS),
                Map.entry("kvm_fpu", KvmStructs.FPU), Map.entry("kvm_xsave", KvmStructs.XSAVE),
                Map.entry("kvm_enable_cap", KvmStructs.ENABLE_CAP),
                Map.entry("kvm_clear_dirty_log", KvmStructs.CLEAR_DIRTY_LOG), Map.entry("kvm_msi", KvmStructs.MSI));
        ours.forEach((name, layout) -> assertThat(layout.byteSize()).as(name).isEqualTo(c("sizeof " + name)));
    }

    @Test
    void fieldOffsetsMatchTheKernelHeaders() {
        assertThat(KvmStructs.offset(KvmStructs.SREGS, "gdt")).isEqualTo(c("offsetof kvm_sregs.gdt"));
        assertThat(KvmStructs.offset(KvmStructs.SREGS, "cr0")).isEqualTo(c("offsetof kvm_sregs.cr0"));
        assertThat(KvmStructs.offset(KvmStructs.SREGS, "efer")).isEqualTo(c("offsetof kvm_sregs.efer"));
        assertThat(KvmStructs.offset(KvmStructs.SREGS, "interrupt_bitmap"))
                .isEqualTo(c("offsetof kvm_sregs.interrupt_bitmap"));
        assertThat(KvmStructs.offset(KvmStructs.SEGMENT, "selector")).isEqualTo(c("offsetof kvm_segment.selector"));
        assertThat(KvmStructs.offset(KvmStructs.SEGMENT, "type")).isEqualTo(c("offsetof kvm_segment.type"));
        assertThat(KvmStructs.offset(KvmStructs.SEGMENT, "unusable")).isEqualTo(c("offsetof kvm_segment.unusable"));
        assertThat(KvmStructs.offset(KvmStructs.IRQ_ROUTING_ENTRY, "u"))
                .isEqualTo(c("offsetof kvm_irq_routing_entry.u"));
        assertThat(KvmStructs.offset(KvmStructs.IRQ_ROUTING_ENTRY, "u", "irqchip", "pin"))
                .isEqualTo(c("offsetof kvm_irq_routing_entry.u.irqchip.pin"));
        for (String f : new String[] {"address_lo", "address_hi", "data"}) {
            assertThat(KvmStructs.offset(KvmStructs.IRQ_ROUTING_ENTRY, "u", "msi", f)).as(f)
                    .isEqualTo(c("offsetof kvm_irq_routing_entry.u.msi." + f));
        }
        assertThat(KvmStructs.offset(KvmStructs.MSI, "data")).isEqualTo(c("offsetof kvm_msi.data"));
        for (String f : new String[] {"datamatch", "addr", "len", "flags"}) {
            assertThat(KvmStructs.offset(KvmStructs.IOEVENTFD, f)).as(f).isEqualTo(c("offsetof kvm_ioeventfd." + f));
        }
        assertThat(KvmStructs.offset(KvmStructs.IRQFD, "gsi")).isEqualTo(c("offsetof kvm_irqfd.gsi"));
        assertThat(KvmStructs.offset(KvmStructs.IRQFD, "flags")).isEqualTo(c("offsetof kvm_irqfd.flags"));
        assertThat(KvmStructs.offset(KvmStructs.DIRTY_LOG, "dirty_bitmap"))
                .isEqualTo(c("offsetof kvm_dirty_log.dirty_bitmap"));
        assertThat(KvmStructs.offset(KvmStructs.CLOCK_DATA, "realtime")).isEqualTo(c("offsetof kvm_clock_data.realtime"));
        assertThat(KvmStructs.offset(KvmStructs.IOEVENTFD, "fd")).isEqualTo(c("offsetof kvm_ioeventfd.fd"));
        assertThat(KvmStructs.offset(KvmStructs.IRQFD, "resamplefd")).isEqualTo(c("offsetof kvm_irqfd.resamplefd"));
        assertThat(KvmStructs.offset(KvmStructs.XCRS, "xcrs")).isEqualTo(c("offsetof kvm_xcrs.xcrs"));
        for (String f : new String[] {"num_pages", "first_page", "dirty_bitmap"}) {
            assertThat(KvmStructs.offset(KvmStructs.CLEAR_DIRTY_LOG, f)).as(f)
                    .isEqualTo(c("offsetof kvm_clear_dirty_log." + f));
        }
        assertThat(KvmStructs.offset(KvmStructs.ENABLE_CAP, "args")).isEqualTo(c("offsetof kvm_enable_cap.args"));
    }

    @Test
    void dirtyLogCapabilityNumbersMatchTheKernelHeaders() {
        assertThat(KvmIoctls.CAP_MANUAL_DIRTY_LOG_PROTECT2).isEqualTo((int) c("value KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2"));
        assertThat(KvmIoctls.DIRTY_LOG_MANUAL_PROTECT_ENABLE)
                .isEqualTo((int) c("value KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE"));
        assertThat(KvmIoctls.DIRTY_LOG_INITIALLY_SET).isEqualTo((int) c("value KVM_DIRTY_LOG_INITIALLY_SET"));
    }

    @Test
    void interruptCapabilitiesAndFlagsMatchTheKernelHeaders() {
        Map<String, Integer> ours = Map.ofEntries(
                Map.entry("KVM_CAP_IRQ_ROUTING", KvmIoctls.CAP_IRQ_ROUTING),
                Map.entry("KVM_CAP_IRQFD", KvmIoctls.CAP_IRQFD), Map.entry("KVM_CAP_IOEVENTFD", KvmIoctls.CAP_IOEVENTFD),
                Map.entry("KVM_CAP_SIGNAL_MSI", KvmIoctls.CAP_SIGNAL_MSI),
                Map.entry("KVM_CAP_IRQFD_RESAMPLE", KvmIoctls.CAP_IRQFD_RESAMPLE),
                Map.entry("KVM_CAP_IOEVENTFD_ANY_LENGTH", KvmIoctls.CAP_IOEVENTFD_ANY_LENGTH),
                Map.entry("KVM_IRQ_ROUTING_IRQCHIP", KvmIoctls.IRQ_ROUTING_IRQCHIP),
                Map.entry("KVM_IRQ_ROUTING_MSI", KvmIoctls.IRQ_ROUTING_MSI),
                Map.entry("KVM_IRQFD_FLAG_DEASSIGN", KvmIoctls.IRQFD_FLAG_DEASSIGN),
                Map.entry("KVM_IRQFD_FLAG_RESAMPLE", KvmIoctls.IRQFD_FLAG_RESAMPLE),
                Map.entry("KVM_IOEVENTFD_FLAG_DATAMATCH", KvmIoctls.IOEVENTFD_FLAG_DATAMATCH),
                Map.entry("KVM_IOEVENTFD_FLAG_PIO", KvmIoctls.IOEVENTFD_FLAG_PIO),
                Map.entry("KVM_IOEVENTFD_FLAG_DEASSIGN", KvmIoctls.IOEVENTFD_FLAG_DEASSIGN));
        ours.forEach((name, value) -> assertThat(value).as(name).isEqualTo((int) c("value " + name)));
    }

    @Test
    void kvmRunOffsetsMatchTheKernelHeaders() {
        assertThat(KvmStructs.Run.IMMEDIATE_EXIT).isEqualTo(c("offsetof kvm_run.immediate_exit"));
        assertThat(KvmStructs.Run.EXIT_REASON).isEqualTo(c("offsetof kvm_run.exit_reason"));
        assertThat(KvmStructs.Run.CR8).isEqualTo(c("offsetof kvm_run.cr8"));
        assertThat(KvmStructs.Run.EXIT).isEqualTo(c("offsetof kvm_run.io"));
        assertThat(KvmStructs.Run.IO_PORT).isEqualTo(c("offsetof kvm_run.io.port"));
        assertThat(KvmStructs.Run.IO_COUNT).isEqualTo(c("offsetof kvm_run.io.count"));
        assertThat(KvmStructs.Run.IO_DATA_OFFSET).isEqualTo(c("offsetof kvm_run.io.data_offset"));
        assertThat(KvmStructs.Run.MMIO_DATA).isEqualTo(c("offsetof kvm_run.mmio.data"));
        assertThat(KvmStructs.Run.MMIO_LEN).isEqualTo(c("offsetof kvm_run.mmio.len"));
        assertThat(KvmStructs.Run.MMIO_IS_WRITE).isEqualTo(c("offsetof kvm_run.mmio.is_write"));
        assertThat(KvmStructs.Run.INTERNAL_NDATA).isEqualTo(c("offsetof kvm_run.internal.ndata"));
        assertThat(KvmStructs.Run.INTERNAL_DATA).isEqualTo(c("offsetof kvm_run.internal.data"));
        assertThat(KvmStructs.Run.FAIL_ENTRY_CPU).isEqualTo(c("offsetof kvm_run.fail_entry.cpu"));
    }

    @Test
    void ioctlNumbersMatchTheKernelHeaders() throws IllegalAccessException {
        int checked = 0;
        for (var f : KvmIoctls.class.getFields()) {
            if (f.getType() != long.class) {
                continue;
            }
            String cName = "ioctl KVM_" + f.getName();
            assertThat(f.getLong(null)).as(cName).isEqualTo(c(cName));
            checked++;
        }
        assertThat(checked).isGreaterThanOrEqualTo(50);
    }
}
