package dev.jhv.devices.pci;

import dev.jhv.core.irq.GsiRouter;
import dev.jhv.core.irq.MsiRoute;
import dev.jhv.core.kvm.IrqFd;
import dev.jhv.core.kvm.KvmVm;

/**
 * MSI-X vectors on the machine: each vector that fires gets a GSI from the router with its message as an MSI route
 * and an irqfd on it, so a fire is one eventfd write into KVM. GSIs and irqfds are taken at a vector's first fire
 * and kept until {@link #close}.
 */
public final class MsixIrqRoutes implements MsixCapability.Routes {
    private final KvmVm vm;
    private final GsiRouter router;
    private final IrqFd[] irqfds;

    public MsixIrqRoutes(KvmVm vm, GsiRouter router, int vectors) {
        this.vm = vm;
        this.router = router;
        this.irqfds = new IrqFd[vectors];
    }

    @Override
    public synchronized void update(int vector, int addressLo, int addressHi, int data) {
        IrqFd fd = irqfds[vector];
        if (fd == null) {
            int gsi = router.allocateGsi();
            try {
                router.route(new MsiRoute(gsi, addressLo, addressHi, data));
                fd = vm.irqfd(gsi);
            } catch (RuntimeException e) {
                router.releaseGsi(gsi);
                throw e;
            }
            irqfds[vector] = fd;
        } else {
            router.route(new MsiRoute(fd.gsi(), addressLo, addressHi, data));
        }
    }

    @Override
    public void fire(int vector) {
        IrqFd fd;
        synchronized (this) {
            fd = irqfds[vector];
        }
        if (fd != null) {
            fd.trigger().signal();
        }
    }

    @Override
    public synchronized void close() {
        for (int v = 0; v < irqfds.length; v++) {
            if (irqfds[v] != null) {
                int gsi = irqfds[v].gsi();
                irqfds[v].close();
                router.releaseGsi(gsi);
                irqfds[v] = null;
            }
        }
    }
}
