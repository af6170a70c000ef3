package dev.jhv.core.kvm;

import dev.jhv.core.sys.Errno;
import dev.jhv.core.sys.EventFd;
import dev.jhv.core.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.OptionalLong;

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

    /** KVM_CAP_IRQ_ROUTING: how many routing entries KVM takes, and so the bound of GSI numbers (0 without it). */
    public int maxIrqRoutes() {
        return checkExtension(KvmIoctls.CAP_IRQ_ROUTING);
    }

    /**
     * KVM_SET_GSI_ROUTING: replaces KVM's whole routing table with {@code routes} (KVM_IRQ_LINE, irqfds and the
     * in-kernel PIT raise GSIs through it). KVM refuses a GSI routed twice to one chip, or an MSI GSI routed twice.
     */
    public void setGsiRouting(List<? extends KvmIrqRoute> routes) {
        long esz = KvmStructs.IRQ_ROUTING_ENTRY.byteSize();
        long base = KvmStructs.IRQ_ROUTING.byteSize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(base + routes.size() * esz, 8);
            r.set(ValueLayout.JAVA_INT, offset(KvmStructs.IRQ_ROUTING, "nr"), routes.size());
            long off = base;
            for (KvmIrqRoute route : routes) {
                r.set(ValueLayout.JAVA_INT, off + ROUTE_GSI, route.gsi());
                switch (route) {
                    case KvmIrqRoute.Irqchip(var _, int chip, int pin) -> {
                        r.set(ValueLayout.JAVA_INT, off + ROUTE_TYPE, KvmIoctls.IRQ_ROUTING_IRQCHIP);
                        r.set(ValueLayout.JAVA_INT, off + ROUTE_IRQCHIP, chip);
                        r.set(ValueLayout.JAVA_INT, off + ROUTE_PIN, pin);
                    }
                    case KvmIrqRoute.Msi(var _, int lo, int hi, int data) -> {
                        r.set(ValueLayout.JAVA_INT, off + ROUTE_TYPE, KvmIoctls.IRQ_ROUTING_MSI);
                        r.set(ValueLayout.JAVA_INT, off + ROUTE_MSI_ADDRESS_LO, lo);
                        r.set(ValueLayout.JAVA_INT, off + ROUTE_MSI_ADDRESS_HI, hi);
                        r.set(ValueLayout.JAVA_INT, off + ROUTE_MSI_DATA, data);
                    }
                }
                off += esz;
            }
            int rc = Libc.tryIoctl(fd, KvmIoctls.SET_GSI_ROUTING, r);
            if (rc < 0) {
                throw new KvmException("KVM_SET_GSI_ROUTING", -rc, routes.size() + " routes");
            }
        }
    }

    private static final long ROUTE_GSI = offset(KvmStructs.IRQ_ROUTING_ENTRY, "gsi");
    private static final long ROUTE_TYPE = offset(KvmStructs.IRQ_ROUTING_ENTRY, "type");
    private static final long ROUTE_IRQCHIP = offset(KvmStructs.IRQ_ROUTING_ENTRY, "u", "irqchip", "irqchip");
    private static final long ROUTE_PIN = offset(KvmStructs.IRQ_ROUTING_ENTRY, "u", "irqchip", "pin");
    private static final long ROUTE_MSI_ADDRESS_LO = offset(KvmStructs.IRQ_ROUTING_ENTRY, "u", "msi", "address_lo");
    private static final long ROUTE_MSI_ADDRESS_HI = offset(KvmStructs.IRQ_ROUTING_ENTRY, "u", "msi", "address_hi");
    private static final long ROUTE_MSI_DATA = offset(KvmStructs.IRQ_ROUTING_ENTRY, "u", "msi", "data");

    /**
     * KVM_SIGNAL_MSI: the write of {@code data} to {@code addressHi:addressLo} a device's MSI makes, without a route.
     * Returns KVM's answer: positive when delivered, 0 when the guest blocked it (e.g. a disabled local APIC).
     */
    public int signalMsi(int addressLo, int addressHi, int data) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.MSI);
            m.set(ValueLayout.JAVA_INT, offset(KvmStructs.MSI, "address_lo"), addressLo);
            m.set(ValueLayout.JAVA_INT, offset(KvmStructs.MSI, "address_hi"), addressHi);
            m.set(ValueLayout.JAVA_INT, offset(KvmStructs.MSI, "data"), data);
            int rc = Libc.tryIoctl(fd, KvmIoctls.SIGNAL_MSI, m);
            if (rc < 0) {
                throw new KvmException("KVM_SIGNAL_MSI", -rc, String.format("address 0x%x_%08x, data 0x%x",
                        addressHi, addressLo, data));
            }
            return rc;
        }
    }

    /** An edge-style irqfd on {@code gsi}: each write of its trigger pulses the GSI (an MSI route fires the MSI). */
    public IrqFd irqfd(int gsi) {
        return assignIrqfd(gsi, false);
    }

    /**
     * A level-triggered irqfd on {@code gsi} (KVM_IRQFD_FLAG_RESAMPLE): a write asserts the GSI until the guest's
     * EOI, which deasserts it and signals the resample eventfd. Only for GSIs routed to the irqchip.
     */
    public IrqFd levelIrqfd(int gsi) {
        return assignIrqfd(gsi, true);
    }

    private IrqFd assignIrqfd(int gsi, boolean level) {
        EventFd trigger = EventFd.create(true);
        EventFd resample = null;
        try {
            resample = level ? EventFd.create(true) : null;
            irqfd(trigger.fd(), gsi, level ? KvmIoctls.IRQFD_FLAG_RESAMPLE : 0, level ? resample.fd() : -1);
            return new IrqFd(this, gsi, trigger, resample);
        } catch (RuntimeException e) {
            trigger.close();
            if (resample != null) {
                resample.close();
            }
            throw e;
        }
    }

    /** KVM_IRQFD as the API has it ({@code resampleFd} is read only with KVM_IRQFD_FLAG_RESAMPLE). */
    void irqfd(int eventFd, int gsi, int flags, int resampleFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(KvmStructs.IRQFD);
            f.set(ValueLayout.JAVA_INT, offset(KvmStructs.IRQFD, "fd"), eventFd);
            f.set(ValueLayout.JAVA_INT, offset(KvmStructs.IRQFD, "gsi"), gsi);
            f.set(ValueLayout.JAVA_INT, offset(KvmStructs.IRQFD, "flags"), flags);
            f.set(ValueLayout.JAVA_INT, offset(KvmStructs.IRQFD, "resamplefd"),
                    (flags & KvmIoctls.IRQFD_FLAG_RESAMPLE) != 0 ? resampleFd : 0);
            int rc = Libc.tryIoctl(fd, KvmIoctls.IRQFD, f);
            if (rc < 0) {
                String what = (flags & KvmIoctls.IRQFD_FLAG_DEASSIGN) != 0 ? "deassign " : "";
                throw new KvmException("KVM_IRQFD", -rc, what + "GSI " + gsi
                        + ((flags & KvmIoctls.IRQFD_FLAG_RESAMPLE) != 0 ? ", level-triggered" : ""));
            }
        }
    }

    /**
     * An ioeventfd: guest writes of {@code length} bytes (1, 2, 4 or 8) at {@code address} in {@code space}, of the
     * value {@code datamatch} if present (any value if empty), signal its eventfd instead of exiting. A second
     * ioeventfd that would take the same writes is refused (EEXIST) with the address in the message.
     */
    public IoEventFd ioeventfd(IoEventFd.Space space, long address, int length, OptionalLong datamatch) {
        if (length != 1 && length != 2 && length != 4 && length != 8) {
            throw new IllegalArgumentException("ioeventfd length " + length + " is not 1, 2, 4 or 8");
        }
        EventFd event = EventFd.create(true);
        try {
            ioeventfd(space, address, length, datamatch, event.fd(), false);
            return new IoEventFd(this, space, address, length, datamatch, event);
        } catch (RuntimeException e) {
            event.close();
            throw e;
        }
    }

    /** KVM_IOEVENTFD, assigning or deassigning. */
    void ioeventfd(IoEventFd.Space space, long address, int length, OptionalLong datamatch, int eventFd,
                   boolean deassign) {
        int flags = (space == IoEventFd.Space.PIO ? KvmIoctls.IOEVENTFD_FLAG_PIO : 0)
                | (datamatch.isPresent() ? KvmIoctls.IOEVENTFD_FLAG_DATAMATCH : 0)
                | (deassign ? KvmIoctls.IOEVENTFD_FLAG_DEASSIGN : 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = a.allocate(KvmStructs.IOEVENTFD);
            e.set(ValueLayout.JAVA_LONG, offset(KvmStructs.IOEVENTFD, "datamatch"), datamatch.orElse(0));
            e.set(ValueLayout.JAVA_LONG, offset(KvmStructs.IOEVENTFD, "addr"), address);
            e.set(ValueLayout.JAVA_INT, offset(KvmStructs.IOEVENTFD, "len"), length);
            e.set(ValueLayout.JAVA_INT, offset(KvmStructs.IOEVENTFD, "fd"), eventFd);
            e.set(ValueLayout.JAVA_INT, offset(KvmStructs.IOEVENTFD, "flags"), flags);
            int rc = Libc.tryIoctl(fd, KvmIoctls.IOEVENTFD, e);
            if (rc < 0) {
                String where = IoEventFd.describe(space, address, length, datamatch);
                String detail = deassign ? "deassign " + where
                        : rc == -Errno.EEXIST ? where + ": another ioeventfd already takes these writes" : where;
                throw new KvmException("KVM_IOEVENTFD", -rc, detail);
            }
        }
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
