package dev.jhv.core.kvm;

import dev.jhv.core.sys.EventFd;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An eventfd bound to a GSI with KVM_IRQFD: a write to {@link #trigger()} raises the GSI inside the kernel, with no
 * exit and no ioctl. Edge-style (the GSI is pulsed) unless made with a resample eventfd: then KVM holds the GSI
 * asserted until the guest acknowledges the interrupt (EOI), deasserts it and signals {@link #resample()}, where
 * the device re-asserts it if its condition still holds (a level-triggered INTx). Closing deassigns and closes both.
 */
public final class IrqFd implements AutoCloseable {
    private final KvmVm vm;
    private final int gsi;
    private final EventFd trigger;
    private final EventFd resample;
    private final AtomicBoolean closed = new AtomicBoolean();

    IrqFd(KvmVm vm, int gsi, EventFd trigger, EventFd resample) {
        this.vm = vm;
        this.gsi = gsi;
        this.trigger = trigger;
        this.resample = resample;
    }

    public int gsi() {
        return gsi;
    }

    /** What a device signals to raise the interrupt. */
    public EventFd trigger() {
        return trigger;
    }

    /** Whether this irqfd is level-triggered, with a resample eventfd. */
    public boolean isLevel() {
        return resample != null;
    }

    /** What KVM signals when the guest has acknowledged a level interrupt; only for {@link #isLevel()} ones. */
    public EventFd resample() {
        if (resample == null) {
            throw new IllegalStateException("irqfd on GSI " + gsi + " is edge-triggered: it has no resample eventfd");
        }
        return resample;
    }

    /** KVM_IRQFD with KVM_IRQFD_FLAG_DEASSIGN, then closes the eventfds (closed even if the deassign fails). */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            vm.irqfd(trigger.fd(), gsi, KvmIoctls.IRQFD_FLAG_DEASSIGN, -1);
        } finally {
            trigger.close();
            if (resample != null) {
                resample.close();
            }
        }
    }

    @Override
    public String toString() {
        return (isLevel() ? "level" : "edge") + " irqfd on GSI " + gsi;
    }
}
