package dev.jhv.core.kvm;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.MemoryLayout.unionLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/** The x86-64 KVM structures as FFM layouts (checked against linux/kvm.h by a test). */
public final class KvmStructs {
    private KvmStructs() { }

    public static final StructLayout USERSPACE_MEMORY_REGION = structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("flags"),
            JAVA_LONG.withName("guest_phys_addr"), JAVA_LONG.withName("memory_size"),
            JAVA_LONG.withName("userspace_addr")).withName("kvm_userspace_memory_region");

    public static final StructLayout REGS = structLayout(
            JAVA_LONG.withName("rax"), JAVA_LONG.withName("rbx"), JAVA_LONG.withName("rcx"), JAVA_LONG.withName("rdx"),
            JAVA_LONG.withName("rsi"), JAVA_LONG.withName("rdi"), JAVA_LONG.withName("rsp"), JAVA_LONG.withName("rbp"),
            JAVA_LONG.withName("r8"), JAVA_LONG.withName("r9"), JAVA_LONG.withName("r10"), JAVA_LONG.withName("r11"),
            JAVA_LONG.withName("r12"), JAVA_LONG.withName("r13"), JAVA_LONG.withName("r14"), JAVA_LONG.withName("r15"),
            JAVA_LONG.withName("rip"), JAVA_LONG.withName("rflags")).withName("kvm_regs");

    public static final StructLayout SEGMENT = structLayout(
            JAVA_LONG.withName("base"), JAVA_INT.withName("limit"), JAVA_SHORT.withName("selector"),
            JAVA_BYTE.withName("type"), JAVA_BYTE.withName("present"), JAVA_BYTE.withName("dpl"),
            JAVA_BYTE.withName("db"), JAVA_BYTE.withName("s"), JAVA_BYTE.withName("l"), JAVA_BYTE.withName("g"),
            JAVA_BYTE.withName("avl"), JAVA_BYTE.withName("unusable"), JAVA_BYTE.withName("padding"))
            .withName("kvm_segment");

    public static final StructLayout DTABLE = structLayout(
            JAVA_LONG.withName("base"), JAVA_SHORT.withName("limit"), sequenceLayout(3, JAVA_SHORT).withName("padding"))
            .withName("kvm_dtable");

    public static final StructLayout SREGS = structLayout(
            SEGMENT.withName("cs"), SEGMENT.withName("ds"), SEGMENT.withName("es"), SEGMENT.withName("fs"),
            SEGMENT.withName("gs"), SEGMENT.withName("ss"), SEGMENT.withName("tr"), SEGMENT.withName("ldt"),
            DTABLE.withName("gdt"), DTABLE.withName("idt"),
            JAVA_LONG.withName("cr0"), JAVA_LONG.withName("cr2"), JAVA_LONG.withName("cr3"), JAVA_LONG.withName("cr4"),
            JAVA_LONG.withName("cr8"), JAVA_LONG.withName("efer"), JAVA_LONG.withName("apic_base"),
            sequenceLayout(4, JAVA_LONG).withName("interrupt_bitmap")).withName("kvm_sregs");

    public static final StructLayout CPUID_ENTRY2 = structLayout(
            JAVA_INT.withName("function"), JAVA_INT.withName("index"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("eax"), JAVA_INT.withName("ebx"), JAVA_INT.withName("ecx"), JAVA_INT.withName("edx"),
            sequenceLayout(3, JAVA_INT).withName("padding")).withName("kvm_cpuid_entry2");

    /** kvm_cpuid2 header; entries follow. */
    public static final StructLayout CPUID2 = structLayout(
            JAVA_INT.withName("nent"), JAVA_INT.withName("padding")).withName("kvm_cpuid2");

    public static final StructLayout IRQ_LEVEL = structLayout(
            JAVA_INT.withName("irq"), JAVA_INT.withName("level")).withName("kvm_irq_level");

    public static final StructLayout PIT_CONFIG = structLayout(
            JAVA_INT.withName("flags"), sequenceLayout(15, JAVA_INT).withName("pad")).withName("kvm_pit_config");

    public static final StructLayout IRQ_ROUTING_IRQCHIP = structLayout(
            JAVA_INT.withName("irqchip"), JAVA_INT.withName("pin")).withName("kvm_irq_routing_irqchip");

    /** The last word is a union of pad and devid; devid is meaningful only with KVM_MSI_VALID_DEVID (not on x86). */
    public static final StructLayout IRQ_ROUTING_MSI = structLayout(
            JAVA_INT.withName("address_lo"), JAVA_INT.withName("address_hi"), JAVA_INT.withName("data"),
            JAVA_INT.withName("devid")).withName("kvm_irq_routing_msi");

    public static final StructLayout IRQ_ROUTING_ENTRY = structLayout(
            JAVA_INT.withName("gsi"), JAVA_INT.withName("type"), JAVA_INT.withName("flags"), JAVA_INT.withName("pad"),
            unionLayout(IRQ_ROUTING_IRQCHIP.withName("irqchip"), IRQ_ROUTING_MSI.withName("msi"),
                    sequenceLayout(8, JAVA_INT).withName("pad")).withName("u")).withName("kvm_irq_routing_entry");

    /** kvm_irq_routing header; entries follow. */
    public static final StructLayout IRQ_ROUTING = structLayout(
            JAVA_INT.withName("nr"), JAVA_INT.withName("flags")).withName("kvm_irq_routing");

    public static final StructLayout MSR_ENTRY = structLayout(
            JAVA_INT.withName("index"), JAVA_INT.withName("reserved"), JAVA_LONG.withName("data")).withName("kvm_msr_entry");

    /** kvm_msrs header; entries follow. */
    public static final StructLayout MSRS = structLayout(
            JAVA_INT.withName("nmsrs"), JAVA_INT.withName("pad")).withName("kvm_msrs");

    public static final StructLayout LAPIC_STATE = structLayout(
            sequenceLayout(1024, JAVA_BYTE).withName("regs")).withName("kvm_lapic_state");

    public static final StructLayout MP_STATE = structLayout(JAVA_INT.withName("mp_state")).withName("kvm_mp_state");

    public static final StructLayout DIRTY_LOG = structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("padding1"), JAVA_LONG.withName("dirty_bitmap"))
            .withName("kvm_dirty_log");

    public static final StructLayout CLEAR_DIRTY_LOG = structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("num_pages"), JAVA_LONG.withName("first_page"),
            JAVA_LONG.withName("dirty_bitmap")).withName("kvm_clear_dirty_log");

    /** kvm_signal_mask header; the kernel sigset (8 bytes on x86-64) follows. */
    public static final StructLayout SIGNAL_MASK = structLayout(JAVA_INT.withName("len")).withName("kvm_signal_mask");

    public static final StructLayout IRQFD = structLayout(
            JAVA_INT.withName("fd"), JAVA_INT.withName("gsi"), JAVA_INT.withName("flags"), JAVA_INT.withName("resamplefd"),
            sequenceLayout(16, JAVA_BYTE).withName("pad")).withName("kvm_irqfd");

    public static final StructLayout MSI = structLayout(
            JAVA_INT.withName("address_lo"), JAVA_INT.withName("address_hi"), JAVA_INT.withName("data"),
            JAVA_INT.withName("flags"), JAVA_INT.withName("devid"), sequenceLayout(12, JAVA_BYTE).withName("pad"))
            .withName("kvm_msi");

    public static final StructLayout IOEVENTFD = structLayout(
            JAVA_LONG.withName("datamatch"), JAVA_LONG.withName("addr"), JAVA_INT.withName("len"), JAVA_INT.withName("fd"),
            JAVA_INT.withName("flags"), sequenceLayout(36, JAVA_BYTE).withName("pad")).withName("kvm_ioeventfd");

    public static final StructLayout CLOCK_DATA = structLayout(
            JAVA_LONG.withName("clock"), JAVA_INT.withName("flags"), JAVA_INT.withName("pad0"),
            JAVA_LONG.withName("realtime"), JAVA_LONG.withName("host_tsc"), sequenceLayout(4, JAVA_INT).withName("pad"))
            .withName("kvm_clock_data");

    /** kvm_irqchip: chip id, pad, then a 512-byte union (PIC state or IOAPIC state). */
    public static final StructLayout IRQCHIP = structLayout(
            JAVA_INT.withName("chip_id"), JAVA_INT.withName("pad"), sequenceLayout(512, JAVA_BYTE).withName("chip"))
            .withName("kvm_irqchip");

    public static final StructLayout PIT_STATE2 = structLayout(
            sequenceLayout(3, structLayout(
                    JAVA_INT.withName("count"), JAVA_SHORT.withName("latched_count"), JAVA_BYTE.withName("count_latched"),
                    JAVA_BYTE.withName("status_latched"), JAVA_BYTE.withName("status"), JAVA_BYTE.withName("read_state"),
                    JAVA_BYTE.withName("write_state"), JAVA_BYTE.withName("write_latch"), JAVA_BYTE.withName("rw_mode"),
                    JAVA_BYTE.withName("mode"), JAVA_BYTE.withName("bcd"), JAVA_BYTE.withName("gate"),
                    JAVA_LONG.withName("count_load_time"))).withName("channels"),
            JAVA_INT.withName("flags"), sequenceLayout(9, JAVA_INT).withName("reserved")).withName("kvm_pit_state2");

    public static final StructLayout VCPU_EVENTS = structLayout(
            sequenceLayout(64, JAVA_BYTE).withName("raw")).withName("kvm_vcpu_events");

    public static final StructLayout DEBUGREGS = structLayout(
            sequenceLayout(4, JAVA_LONG).withName("db"), JAVA_LONG.withName("dr6"), JAVA_LONG.withName("dr7"),
            JAVA_LONG.withName("flags"), sequenceLayout(9, JAVA_LONG).withName("reserved")).withName("kvm_debugregs");

    public static final StructLayout XCRS = structLayout(
            JAVA_INT.withName("nr_xcrs"), JAVA_INT.withName("flags"),
            sequenceLayout(16, structLayout(JAVA_INT.withName("xcr"), JAVA_INT.withName("reserved"),
                    JAVA_LONG.withName("value"))).withName("xcrs"),
            sequenceLayout(16, JAVA_LONG).withName("padding")).withName("kvm_xcrs");

    public static final StructLayout FPU = structLayout(
            sequenceLayout(416, JAVA_BYTE).withName("raw")).withName("kvm_fpu");

    public static final StructLayout XSAVE = structLayout(
            sequenceLayout(1024, JAVA_INT).withName("region")).withName("kvm_xsave");

    public static final StructLayout ENABLE_CAP = structLayout(
            JAVA_INT.withName("cap"), JAVA_INT.withName("flags"), sequenceLayout(4, JAVA_LONG).withName("args"),
            sequenceLayout(64, JAVA_BYTE).withName("pad")).withName("kvm_enable_cap");

    /** Offsets inside struct kvm_run (x86-64) that the exit loop reads. */
    public static final class Run {
        public static final long REQUEST_INTERRUPT_WINDOW = 0;
        public static final long IMMEDIATE_EXIT = 1;
        public static final long EXIT_REASON = 8;
        public static final long READY_FOR_INTERRUPT_INJECTION = 12;
        public static final long IF_FLAG = 13;
        public static final long CR8 = 16;
        public static final long APIC_BASE = 24;
        /** Start of the exit-information union. */
        public static final long EXIT = 32;
        public static final long IO_DIRECTION = EXIT;
        public static final long IO_SIZE = EXIT + 1;
        public static final long IO_PORT = EXIT + 2;
        public static final long IO_COUNT = EXIT + 4;
        public static final long IO_DATA_OFFSET = EXIT + 8;
        public static final long MMIO_PHYS_ADDR = EXIT;
        public static final long MMIO_DATA = EXIT + 8;
        public static final long MMIO_LEN = EXIT + 16;
        public static final long MMIO_IS_WRITE = EXIT + 20;
        public static final long INTERNAL_SUBERROR = EXIT;
        public static final long INTERNAL_NDATA = EXIT + 4;
        public static final long INTERNAL_DATA = EXIT + 8;
        public static final long SYSTEM_EVENT_TYPE = EXIT;
        public static final long FAIL_ENTRY_REASON = EXIT;
        public static final long FAIL_ENTRY_CPU = EXIT + 8;
        public static final long HW_EXIT_REASON = EXIT;

        private Run() { }
    }

    /** The byte offset of a field, or of a field inside nested structs and unions ({@code "u", "msi", "data"}). */
    static long offset(MemoryLayout layout, String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = MemoryLayout.PathElement.groupElement(path[i]);
        }
        return layout.byteOffset(elements);
    }

    static final ValueLayout.OfLong LONG = JAVA_LONG;
}
