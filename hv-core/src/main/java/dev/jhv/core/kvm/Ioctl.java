package dev.jhv.core.kvm;

/** Linux's _IOC encoding of ioctl request numbers for KVM (type 0xAE). */
final class Ioctl {
    private static final int KVMIO = 0xAE;
    private static final long NONE = 0;
    private static final long WRITE = 1;
    private static final long READ = 2;

    private Ioctl() { }

    private static long ioc(long dir, int nr, long size) {
        return (dir << 30) | (size << 16) | ((long) KVMIO << 8) | nr;
    }

    static long io(int nr) {
        return ioc(NONE, nr, 0);
    }

    static long ior(int nr, long size) {
        return ioc(READ, nr, size);
    }

    static long iow(int nr, long size) {
        return ioc(WRITE, nr, size);
    }

    static long iowr(int nr, long size) {
        return ioc(READ | WRITE, nr, size);
    }
}
