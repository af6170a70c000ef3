package dev.jhv.virtio.pci;

import dev.jhv.core.kvm.IoEventFd;
import dev.jhv.core.kvm.KvmVm;

import java.util.OptionalLong;

/** Where the transport registers its queue notifications as ioeventfds: the VM, or nowhere (tests, fallback). */
@FunctionalInterface
public interface Doorbells {
    IoEventFd register(IoEventFd.Space space, long address, int length, OptionalLong datamatch);

    /** No ioeventfds: every notification exits and reaches the transport's registers. */
    Doorbells NONE = (space, address, length, datamatch) -> {
        throw new UnsupportedOperationException("no ioeventfds");
    };

    static Doorbells of(KvmVm vm) {
        return vm::ioeventfd;
    }
}
