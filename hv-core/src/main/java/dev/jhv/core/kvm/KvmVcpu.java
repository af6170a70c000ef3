package dev.jhv.core.kvm;

import dev.jhv.core.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/** A KVM vCPU fd and its shared kvm_run page. */
public final class KvmVcpu implements AutoCloseable {
    private final KvmVm vm;
    private final int id;
    private final int fd;
    private final MemorySegment run;

    KvmVcpu(KvmVm vm, int id, int fd) {
        this.vm = vm;
        this.id = id;
        this.fd = fd;
        int size = vm.kvm().vcpuMmapSize();
        this.run = Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
    }

    public int id() {
        return id;
    }

    public int fd() {
        return fd;
    }

    /** The kvm_run structure shared with the kernel (offsets in {@link KvmStructs.Run}). */
    public MemorySegment runPage() {
        return run;
    }

    /** KVM_RUN: 0 on an exit to handle, or {@code -errno} (EINTR after a kick). */
    public int run() {
        return Libc.tryIoctl(fd, KvmIoctls.RUN, 0L);
    }

    public int exitReason() {
        return run.get(ValueLayout.JAVA_INT, KvmStructs.Run.EXIT_REASON);
    }

    public void setImmediateExit(boolean on) {
        run.set(ValueLayout.JAVA_BYTE, KvmStructs.Run.IMMEDIATE_EXIT, (byte) (on ? 1 : 0));
    }

    /** Reads a whole state structure with a "get" vcpu ioctl. */
    public byte[] get(String name, long request, long size) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(size, 8);
            Libc.ioctl(name, fd, request, s);
            return s.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Writes a whole state structure with a "set" vcpu ioctl. */
    public void set(String name, long request, byte[] data) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(data.length, 8);
            MemorySegment.copy(data, 0, s, ValueLayout.JAVA_BYTE, 0, data.length);
            Libc.ioctl(name, fd, request, s);
        }
    }

    public Regs getRegs() {
        return new Regs(get("KVM_GET_REGS", KvmIoctls.GET_REGS, KvmStructs.REGS.byteSize()));
    }

    public void setRegs(Regs r) {
        set("KVM_SET_REGS", KvmIoctls.SET_REGS, r.raw());
    }

    public Sregs getSregs() {
        return new Sregs(get("KVM_GET_SREGS", KvmIoctls.GET_SREGS, KvmStructs.SREGS.byteSize()));
    }

    public void setSregs(Sregs s) {
        set("KVM_SET_SREGS", KvmIoctls.SET_SREGS, s.raw());
    }

    public byte[] getLapic() {
        return get("KVM_GET_LAPIC", KvmIoctls.GET_LAPIC, KvmStructs.LAPIC_STATE.byteSize());
    }

    public void setLapic(byte[] state) {
        set("KVM_SET_LAPIC", KvmIoctls.SET_LAPIC, state);
    }

    public int getMpState() {
        byte[] b = get("KVM_GET_MP_STATE", KvmIoctls.GET_MP_STATE, 4);
        return MemorySegment.ofArray(b).get(ValueLayout.JAVA_INT_UNALIGNED, 0);
    }

    public void setMpState(int state) {
        byte[] b = new byte[4];
        MemorySegment.ofArray(b).set(ValueLayout.JAVA_INT_UNALIGNED, 0, state);
        set("KVM_SET_MP_STATE", KvmIoctls.SET_MP_STATE, b);
    }

    /** KVM_SET_CPUID2 from rows {function, index, flags, eax, ebx, ecx, edx}. */
    public void setCpuid(List<int[]> entries) {
        long esz = KvmStructs.CPUID_ENTRY2.byteSize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(8 + entries.size() * esz, 8);
            buf.set(ValueLayout.JAVA_INT, 0, entries.size());
            for (int i = 0; i < entries.size(); i++) {
                int[] e = entries.get(i);
                for (int j = 0; j < 7; j++) {
                    buf.set(ValueLayout.JAVA_INT, 8 + i * esz + 4L * j, e[j]);
                }
            }
            Libc.ioctl("KVM_SET_CPUID2", fd, KvmIoctls.SET_CPUID2, buf);
        }
    }

    /** KVM_GET_MSRS for the given indices; returns their values. */
    public long[] getMsrs(int[] indices) {
        long esz = KvmStructs.MSR_ENTRY.byteSize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(8 + indices.length * esz, 8);
            buf.set(ValueLayout.JAVA_INT, 0, indices.length);
            for (int i = 0; i < indices.length; i++) {
                buf.set(ValueLayout.JAVA_INT, 8 + i * esz, indices[i]);
            }
            int n = Libc.ioctl("KVM_GET_MSRS", fd, KvmIoctls.GET_MSRS, buf);
            if (n != indices.length) {
                throw new KvmException("KVM_GET_MSRS", 0,
                        String.format("MSR 0x%x could not be read", indices[n]));
            }
            long[] out = new long[indices.length];
            for (int i = 0; i < indices.length; i++) {
                out[i] = buf.get(ValueLayout.JAVA_LONG, 8 + i * esz + 8);
            }
            return out;
        }
    }

    /** KVM_SET_MSRS; fails naming the first MSR KVM refused. */
    public void setMsrs(int[] indices, long[] values) {
        long esz = KvmStructs.MSR_ENTRY.byteSize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(8 + indices.length * esz, 8);
            buf.set(ValueLayout.JAVA_INT, 0, indices.length);
            for (int i = 0; i < indices.length; i++) {
                buf.set(ValueLayout.JAVA_INT, 8 + i * esz, indices[i]);
                buf.set(ValueLayout.JAVA_LONG, 8 + i * esz + 8, values[i]);
            }
            int n = Libc.ioctl("KVM_SET_MSRS", fd, KvmIoctls.SET_MSRS, buf);
            if (n != indices.length) {
                throw new KvmException("KVM_SET_MSRS", 0,
                        String.format("failed to set MSR 0x%x to 0x%x", indices[n], values[n]));
            }
        }
    }

    /**
     * KVM_SET_SIGNAL_MASK: the mask in force while inside KVM_RUN. Given the thread's normal mask,
     * unblocks {@code sig} only inside the kernel so that a kick ends KVM_RUN but is never delivered elsewhere.
     */
    public void setSignalMaskUnblocking(MemorySegment threadMask, int sig) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(4 + 8, 8);
            m.set(ValueLayout.JAVA_INT, 0, 8);
            long bits = threadMask.get(ValueLayout.JAVA_LONG, 0) & ~(1L << (sig - 1));
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, 4, bits);
            Libc.ioctl("KVM_SET_SIGNAL_MASK", fd, KvmIoctls.SET_SIGNAL_MASK, m);
        }
    }

    @Override
    public void close() {
        Libc.munmap(run);
        Libc.close(fd);
    }
}
