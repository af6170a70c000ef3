package dev.jhv.core.kvm;

import dev.jhv.core.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.jhv.core.kvm.KvmStructs.offset;

/** A KVM virtual machine (the fd from KVM_CREATE_VM). */
public final class KvmVm implements AutoCloseable {
    /** Where KVM keeps its real-mode TSS (3 pages) and identity map page: just below the BIOS. */
    public static final long TSS_ADDR = 0xfeffd000L;
    public static final long IDENTITY_MAP_ADDR = 0xfeffc000L;

    private final Kvm kvm;
    private final int fd;
    private final ThreadLocal<MemorySegment> irqLevel =
            ThreadLocal.withInitial(() -> Arena.global().allocate(KvmStructs.IRQ_LEVEL));

    KvmVm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    public Kvm kvm() {
        return kvm;
    }

    public int fd() {
        return fd;
    }

    /** Removes memory slot {@code slot} (KVM: a region of size 0); a slot's flags or place change only this way. */
    public void deleteUserMemoryRegion(int slot) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(KvmStructs.USERSPACE_MEMORY_REGION);
            r.set(ValueLayout.JAVA_INT, 0, slot);
            Libc.ioctl("KVM_SET_USER_MEMORY_REGION", fd, KvmIoctls.SET_USER_MEMORY_REGION, r);
        }
    }

    /** Maps host memory at a guest-physical address as memory slot {@code slot}. */
    public void setUserMemoryRegion(int slot, int flags, long gpa, MemorySegment host) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(KvmStructs.USERSPACE_MEMORY_REGION);
            r.set(ValueLayout.JAVA_INT, 0, slot);
            r.set(ValueLayout.JAVA_INT, 4, flags);
            r.set(ValueLayout.JAVA_LONG, 8, gpa);
            r.set(ValueLayout.JAVA_LONG, 16, host.byteSize());
            r.set(ValueLayout.JAVA_LONG, 24, host.address());
            Libc.ioctl("KVM_SET_USER_MEMORY_REGION", fd, KvmIoctls.SET_USER_MEMORY_REGION, r);
        }
    }

    /** The x86 set-up KVM needs before the first vCPU: TSS and identity-map pages, in-kernel irqchip and PIT. */
    public void setTssAddr(long addr) {
        Libc.ioctl("KVM_SET_TSS_ADDR", fd, KvmIoctls.SET_TSS_ADDR, addr);
    }

    public void setIdentityMapAddr(long addr) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(ValueLayout.JAVA_LONG, addr);
            Libc.ioctl("KVM_SET_IDENTITY_MAP_ADDR", fd, KvmIoctls.SET_IDENTITY_MAP_ADDR, p);
        }
    }

    public void createIrqchip() {
        Libc.ioctl("KVM_CREATE_IRQCHIP", fd, KvmIoctls.CREATE_IRQCHIP, 0L);
    }

    public void createPit2() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(KvmStructs.PIT_CONFIG);
            c.set(ValueLayout.JAVA_INT, 0, KvmIoctls.PIT_SPEAKER_DUMMY);
            Libc.ioctl("KVM_CREATE_PIT2", fd, KvmIoctls.CREATE_PIT2, c);
        }
    }

    /** Routes GSIs as a PC does with the in-kernel irqchip: ISA IRQ 0 (the PIT) reaches IOAPIC pin 2. */
    public void setPcGsiRouting() {
        int entries = 0;
        long esz = KvmStructs.IRQ_ROUTING_ENTRY.byteSize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(KvmStructs.IRQ_ROUTING.byteSize() + 48 * esz, 8);
            long base = KvmStructs.IRQ_ROUTING.byteSize();
            for (int gsi = 0; gsi < 16; gsi++) {
                if (gsi == 2) {
                    continue; // the slave PIC cascade
                }
                int chip = gsi < 8 ? KvmIoctls.IRQCHIP_PIC_MASTER : KvmIoctls.IRQCHIP_PIC_SLAVE;
                putRoute(r, base + entries++ * esz, gsi, chip, gsi & 7);
            }
            for (int gsi = 0; gsi < 24; gsi++) {
                if (gsi == 2) {
                    continue;
                }
                putRoute(r, base + entries++ * esz, gsi, KvmIoctls.IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
            }
            r.set(ValueLayout.JAVA_INT, 0, entries);
            Libc.ioctl("KVM_SET_GSI_ROUTING", fd, KvmIoctls.SET_GSI_ROUTING, r);
        }
    }

    private static void putRoute(MemorySegment r, long off, int gsi, int chip, int pin) {
        r.set(ValueLayout.JAVA_INT, off, gsi);
        r.set(ValueLayout.JAVA_INT, off + 4, KvmIoctls.IRQ_ROUTING_IRQCHIP);
        r.set(ValueLayout.JAVA_INT, off + 16, chip);
        r.set(ValueLayout.JAVA_INT, off + 20, pin);
    }

    /** Drives a GSI of the in-kernel irqchip. */
    public void irqLine(int gsi, boolean level) {
        MemorySegment s = irqLevel.get();
        s.set(ValueLayout.JAVA_INT, 0, gsi);
        s.set(ValueLayout.JAVA_INT, 4, level ? 1 : 0);
        Libc.ioctl("KVM_IRQ_LINE", fd, KvmIoctls.IRQ_LINE, s);
    }

    public KvmVcpu createVcpu(int id) {
        int vfd = Libc.tryIoctl(fd, KvmIoctls.CREATE_VCPU, id);
        if (vfd < 0) {
            throw new KvmException("KVM_CREATE_VCPU", -vfd, "vCPU " + id);
        }
        return new KvmVcpu(this, id, vfd);
    }

    /** KVM_GET_DIRTY_LOG into {@code bitmap} (one bit per page of the slot; cleared by the call). */
    public void getDirtyLog(int slot, MemorySegment bitmap) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(KvmStructs.DIRTY_LOG);
            d.set(ValueLayout.JAVA_INT, 0, slot);
            d.set(ValueLayout.JAVA_LONG, offset(KvmStructs.DIRTY_LOG, "dirty_bitmap"), bitmap.address());
            Libc.ioctl("KVM_GET_DIRTY_LOG", fd, KvmIoctls.GET_DIRTY_LOG, d);
        }
    }

    /**
     * KVM_CLEAR_DIRTY_LOG (with KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled): marks the pages of slot {@code slot}
     * whose bits are set in {@code bitmap} clean and write-protects them again; bit 0 is {@code firstPage}.
     * {@code firstPage} must be a multiple of 64, and so must {@code numPages} unless the range ends the slot.
     */
    public void clearDirtyLog(int slot, long firstPage, int numPages, MemorySegment bitmap) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(KvmStructs.CLEAR_DIRTY_LOG);
            d.set(ValueLayout.JAVA_INT, offset(KvmStructs.CLEAR_DIRTY_LOG, "slot"), slot);
            d.set(ValueLayout.JAVA_INT, offset(KvmStructs.CLEAR_DIRTY_LOG, "num_pages"), numPages);
            d.set(ValueLayout.JAVA_LONG, offset(KvmStructs.CLEAR_DIRTY_LOG, "first_page"), firstPage);
            d.set(ValueLayout.JAVA_LONG, offset(KvmStructs.CLEAR_DIRTY_LOG, "dirty_bitmap"), bitmap.address());
            int rc = Libc.tryIoctl(fd, KvmIoctls.CLEAR_DIRTY_LOG, d);
            if (rc < 0) {
                throw new KvmException("KVM_CLEAR_DIRTY_LOG", -rc,
                        "slot " + slot + ", pages " + firstPage + "+" + numPages);
            }
        }
    }

    /** KVM_CHECK_EXTENSION on this VM (what this VM offers; 0 when not); needs KVM_CAP_CHECK_EXTENSION_VM. */
    public int checkExtension(int cap) {
        int rc = Libc.tryIoctl(fd, KvmIoctls.CHECK_EXTENSION, cap);
        return rc < 0 ? kvm.checkExtension(cap) : rc;
    }

    /** KVM_ENABLE_CAP on this VM with args[0] = {@code arg0}. */
    public void enableCap(int cap, long arg0) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(KvmStructs.ENABLE_CAP);
            c.set(ValueLayout.JAVA_INT, 0, cap);
            c.set(ValueLayout.JAVA_LONG, offset(KvmStructs.ENABLE_CAP, "args"), arg0);
            int rc = Libc.tryIoctl(fd, KvmIoctls.ENABLE_CAP, c);
            if (rc < 0) {
                throw new KvmException("KVM_ENABLE_CAP", -rc, "capability " + cap + ", args[0] " + arg0);
            }
        }
    }

    /** A raw copy of a state structure read by a vm ioctl (irqchip, PIT, clock). */
    public byte[] getState(String name, long request, long size, int chipId) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(size, 8);
            if (chipId >= 0) {
                s.set(ValueLayout.JAVA_INT, 0, chipId);
            }
            Libc.ioctl(name, fd, request, s);
            return s.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    public void setState(String name, long request, byte[] data) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(data.length, 8);
            MemorySegment.copy(data, 0, s, ValueLayout.JAVA_BYTE, 0, data.length);
            Libc.ioctl(name, fd, request, s);
        }
    }

    public byte[] getIrqchip(int chipId) {
        return getState("KVM_GET_IRQCHIP", KvmIoctls.GET_IRQCHIP, KvmStructs.IRQCHIP.byteSize(), chipId);
    }

    public void setIrqchip(byte[] state) {
        setState("KVM_SET_IRQCHIP", KvmIoctls.SET_IRQCHIP, state);
    }

    public byte[] getPit2() {
        return getState("KVM_GET_PIT2", KvmIoctls.GET_PIT2, KvmStructs.PIT_STATE2.byteSize(), -1);
    }

    public void setPit2(byte[] state) {
        setState("KVM_SET_PIT2", KvmIoctls.SET_PIT2, state);
    }

    public byte[] getClock() {
        return getState("KVM_GET_CLOCK", KvmIoctls.GET_CLOCK, KvmStructs.CLOCK_DATA.byteSize(), -1);
    }

    public void setClock(byte[] state) {
        setState("KVM_SET_CLOCK", KvmIoctls.SET_CLOCK, state);
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
