package dev.jhv.core.kvm;

import dev.jhv.core.sys.Errno;
import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/** The /dev/kvm system handle: API version, capabilities, supported CPUID, and VM creation. */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";
    private static final int API_VERSION = 12;

    private final int fd;

    private Kvm(int fd) {
        this.fd = fd;
    }

    /** Opens /dev/kvm; fails with a message a person can act on when it is missing or unusable. */
    public static Kvm open() {
        int fd;
        try {
            fd = Libc.open(DEVICE, Libc.O_RDWR | Libc.O_CLOEXEC);
        } catch (SysCallException e) {
            String why = switch (e.errno()) {
                case Errno.ENOENT -> "it does not exist (is the kvm module loaded?)";
                case Errno.EACCES, Errno.EPERM -> "permission denied (add yourself to the kvm group)";
                default -> Errno.name(e.errno());
            };
            throw new KvmException("open " + DEVICE, e.errno(), why);
        }
        int v = Libc.tryIoctl(fd, KvmIoctls.GET_API_VERSION, 0L);
        if (v != API_VERSION) {
            Libc.close(fd);
            throw new KvmException("KVM_GET_API_VERSION", 0, "version " + v + ", need " + API_VERSION);
        }
        return new Kvm(fd);
    }

    /** Whether /dev/kvm can be opened here (for tests that skip without it). */
    public static boolean available() {
        try (Kvm k = open()) {
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    public int fd() {
        return fd;
    }

    public int checkExtension(int cap) {
        int rc = Libc.tryIoctl(fd, KvmIoctls.CHECK_EXTENSION, cap);
        return Math.max(rc, 0);
    }

    /** The most vCPUs a VM may have. */
    public int maxVcpus() {
        int max = checkExtension(KvmIoctls.CAP_MAX_VCPUS);
        return max > 0 ? max : Math.max(4, checkExtension(KvmIoctls.CAP_NR_VCPUS));
    }

    public int vcpuMmapSize() {
        return Libc.ioctl("KVM_GET_VCPU_MMAP_SIZE", fd, KvmIoctls.GET_VCPU_MMAP_SIZE, 0L);
    }

    /** KVM_GET_SUPPORTED_CPUID, growing the buffer on E2BIG. */
    public List<int[]> supportedCpuid() {
        for (int n = 64; n <= 4096; n *= 2) {
            try (Arena a = Arena.ofConfined()) {
                long entrySize = KvmStructs.CPUID_ENTRY2.byteSize();
                MemorySegment buf = a.allocate(KvmStructs.CPUID2.byteSize() + n * entrySize, 8);
                buf.set(ValueLayout.JAVA_INT, 0, n);
                int rc = Libc.tryIoctl(fd, KvmIoctls.GET_SUPPORTED_CPUID, buf);
                if (rc == -Errno.E2BIG) {
                    continue;
                }
                if (rc < 0) {
                    throw new KvmException("KVM_GET_SUPPORTED_CPUID", -rc);
                }
                int nent = buf.get(ValueLayout.JAVA_INT, 0);
                List<int[]> out = new ArrayList<>(nent);
                for (int i = 0; i < nent; i++) {
                    long off = KvmStructs.CPUID2.byteSize() + i * entrySize;
                    int[] e = new int[7];
                    for (int j = 0; j < 7; j++) {
                        e[j] = buf.get(ValueLayout.JAVA_INT, off + 4L * j);
                    }
                    out.add(e);
                }
                return out;
            }
        }
        throw new KvmException("KVM_GET_SUPPORTED_CPUID", Errno.E2BIG);
    }

    /** KVM_GET_MSR_INDEX_LIST: the MSRs a VMM saves and restores. */
    public int[] msrIndexList() {
        for (int n = 64; n <= 4096; n *= 2) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(4 + 4L * n, 4);
                buf.set(ValueLayout.JAVA_INT, 0, n);
                int rc = Libc.tryIoctl(fd, KvmIoctls.GET_MSR_INDEX_LIST, buf);
                if (rc == -Errno.E2BIG) {
                    continue;
                }
                if (rc < 0) {
                    throw new KvmException("KVM_GET_MSR_INDEX_LIST", -rc);
                }
                int count = buf.get(ValueLayout.JAVA_INT, 0);
                int[] out = new int[count];
                for (int i = 0; i < count; i++) {
                    out[i] = buf.get(ValueLayout.JAVA_INT, 4 + 4L * i);
                }
                return out;
            }
        }
        throw new KvmException("KVM_GET_MSR_INDEX_LIST", Errno.E2BIG);
    }

    public KvmVm createVm() {
        int vmfd = Libc.tryIoctl(fd, KvmIoctls.CREATE_VM, 0L);
        if (vmfd < 0) {
            throw new KvmException("KVM_CREATE_VM", -vmfd);
        }
        return new KvmVm(this, vmfd);
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
