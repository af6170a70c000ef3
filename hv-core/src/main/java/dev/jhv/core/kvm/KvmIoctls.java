package dev.jhv.core.kvm;

import static dev.jhv.core.kvm.Ioctl.io;
import static dev.jhv.core.kvm.Ioctl.ior;
import static dev.jhv.core.kvm.Ioctl.iow;
import static dev.jhv.core.kvm.Ioctl.iowr;

/** KVM ioctl request numbers (x86-64), from linux/kvm.h's definitions. */
public final class KvmIoctls {
    private KvmIoctls() { }

    // system ioctls
    public static final long GET_API_VERSION = io(0x00);
    public static final long CREATE_VM = io(0x01);
    public static final long GET_MSR_INDEX_LIST = iowr(0x02, 4);
    public static final long CHECK_EXTENSION = io(0x03);
    public static final long GET_VCPU_MMAP_SIZE = io(0x04);
    public static final long GET_SUPPORTED_CPUID = iowr(0x05, 8);
    // vm ioctls
    public static final long CREATE_VCPU = io(0x41);
    public static final long GET_DIRTY_LOG = iow(0x42, 16);
    public static final long SET_USER_MEMORY_REGION = iow(0x46, 32);
    public static final long SET_TSS_ADDR = io(0x47);
    public static final long SET_IDENTITY_MAP_ADDR = iow(0x48, 8);
    public static final long CREATE_IRQCHIP = io(0x60);
    public static final long IRQ_LINE = iow(0x61, 8);
    public static final long GET_IRQCHIP = iowr(0x62, 520);
    public static final long SET_IRQCHIP = ior(0x63, 520);
    public static final long SET_GSI_ROUTING = iow(0x6a, 8);
    public static final long IRQFD = iow(0x76, 32);
    public static final long CREATE_PIT2 = iow(0x77, 64);
    public static final long IOEVENTFD = iow(0x79, 64);
    public static final long SET_CLOCK = iow(0x7b, 48);
    public static final long GET_CLOCK = ior(0x7c, 48);
    public static final long GET_PIT2 = ior(0x9f, 112);
    public static final long SET_PIT2 = iow(0xa0, 112);
    public static final long ENABLE_CAP = iow(0xa3, 104);
    public static final long SIGNAL_MSI = iow(0xa5, 32);
    public static final long CLEAR_DIRTY_LOG = iowr(0xc0, 24);
    // vcpu ioctls
    public static final long RUN = io(0x80);
    public static final long GET_REGS = ior(0x81, 144);
    public static final long SET_REGS = iow(0x82, 144);
    public static final long GET_SREGS = ior(0x83, 312);
    public static final long SET_SREGS = iow(0x84, 312);
    public static final long GET_MSRS = iowr(0x88, 8);
    public static final long SET_MSRS = iow(0x89, 8);
    public static final long SET_SIGNAL_MASK = iow(0x8b, 4);
    public static final long GET_FPU = ior(0x8c, 416);
    public static final long SET_FPU = iow(0x8d, 416);
    public static final long GET_LAPIC = ior(0x8e, 1024);
    public static final long SET_LAPIC = iow(0x8f, 1024);
    public static final long SET_CPUID2 = iow(0x90, 8);
    public static final long GET_MP_STATE = ior(0x98, 4);
    public static final long SET_MP_STATE = iow(0x99, 4);
    public static final long GET_VCPU_EVENTS = ior(0x9f, 64);
    public static final long SET_VCPU_EVENTS = iow(0xa0, 64);
    public static final long GET_DEBUGREGS = ior(0xa1, 128);
    public static final long SET_DEBUGREGS = iow(0xa2, 128);
    public static final long GET_XSAVE = ior(0xa4, 4096);
    public static final long SET_XSAVE = iow(0xa5, 4096);
    public static final long GET_XCRS = ior(0xa6, 392);
    public static final long SET_XCRS = iow(0xa7, 392);
    public static final long GET_TSC_KHZ = io(0xa3);
    public static final long SET_TSC_KHZ = io(0xa2);

    // capabilities (KVM_CHECK_EXTENSION)
    public static final int CAP_IRQCHIP = 0;
    public static final int CAP_NR_VCPUS = 9;
    public static final int CAP_NR_MEMSLOTS = 10;
    public static final int CAP_IRQ_ROUTING = 25;
    public static final int CAP_IRQFD = 32;
    public static final int CAP_PIT2 = 33;
    public static final int CAP_IOEVENTFD = 36;
    public static final int CAP_SIGNAL_MSI = 77;
    public static final int CAP_IRQFD_RESAMPLE = 82;
    public static final int CAP_IOEVENTFD_ANY_LENGTH = 122;
    public static final int CAP_MAX_VCPUS = 66;
    public static final int CAP_IMMEDIATE_EXIT = 136;
    public static final int CAP_X2APIC_API = 129;
    public static final int CAP_MANUAL_DIRTY_LOG_PROTECT2 = 168;

    // KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) args[0]; KVM_CHECK_EXTENSION returns the ones offered
    public static final int DIRTY_LOG_MANUAL_PROTECT_ENABLE = 1;
    public static final int DIRTY_LOG_INITIALLY_SET = 2;

    // exit reasons
    public static final int EXIT_UNKNOWN = 0;
    public static final int EXIT_EXCEPTION = 1;
    public static final int EXIT_IO = 2;
    public static final int EXIT_HYPERCALL = 3;
    public static final int EXIT_DEBUG = 4;
    public static final int EXIT_HLT = 5;
    public static final int EXIT_MMIO = 6;
    public static final int EXIT_IRQ_WINDOW_OPEN = 7;
    public static final int EXIT_SHUTDOWN = 8;
    public static final int EXIT_FAIL_ENTRY = 9;
    public static final int EXIT_INTR = 10;
    public static final int EXIT_INTERNAL_ERROR = 17;
    public static final int EXIT_SYSTEM_EVENT = 24;
    public static final int EXIT_IOAPIC_EOI = 26;

    public static final int SYSTEM_EVENT_SHUTDOWN = 1;
    public static final int SYSTEM_EVENT_RESET = 2;
    public static final int SYSTEM_EVENT_CRASH = 3;

    public static final int MP_STATE_RUNNABLE = 0;
    public static final int MP_STATE_UNINITIALIZED = 1;
    public static final int MP_STATE_INIT_RECEIVED = 2;
    public static final int MP_STATE_HALTED = 3;
    public static final int MP_STATE_SIPI_RECEIVED = 4;

    public static final int MEM_LOG_DIRTY_PAGES = 1;
    public static final int MEM_READONLY = 2;

    public static final int IRQ_ROUTING_IRQCHIP = 1;
    public static final int IRQ_ROUTING_MSI = 2;
    public static final int IRQCHIP_PIC_MASTER = 0;
    public static final int IRQCHIP_PIC_SLAVE = 1;
    public static final int IRQCHIP_IOAPIC = 2;
    public static final int PIT_SPEAKER_DUMMY = 1;

    public static final int IRQFD_FLAG_DEASSIGN = 1;
    /** The irqfd is level-triggered: KVM deasserts the GSI and signals resamplefd when the guest EOIs it. */
    public static final int IRQFD_FLAG_RESAMPLE = 2;
    public static final int IOEVENTFD_FLAG_DATAMATCH = 1;
    public static final int IOEVENTFD_FLAG_PIO = 2;
    public static final int IOEVENTFD_FLAG_DEASSIGN = 4;
}
