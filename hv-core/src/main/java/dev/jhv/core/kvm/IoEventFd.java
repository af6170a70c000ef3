package dev.jhv.core.kvm;

import dev.jhv.core.sys.EventFd;

import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An eventfd that KVM signals when the guest writes to an address (KVM_IOEVENTFD), instead of exiting to the VMM:
 * a doorbell (a virtqueue notify) costs no exit. It matches writes of exactly {@code length} bytes at exactly
 * {@code address}, and, with a datamatch, only of that value; other writes exit as usual. Closing deassigns it and
 * closes the eventfd.
 */
public final class IoEventFd implements AutoCloseable {
    /** Which address space the address is in. */
    public enum Space { PIO, MMIO }

    private final KvmVm vm;
    private final Space space;
    private final long address;
    private final int length;
    private final OptionalLong datamatch;
    private final EventFd event;
    private final AtomicBoolean closed = new AtomicBoolean();

    IoEventFd(KvmVm vm, Space space, long address, int length, OptionalLong datamatch, EventFd event) {
        this.vm = vm;
        this.space = space;
        this.address = address;
        this.length = length;
        this.datamatch = datamatch;
        this.event = event;
    }

    public Space space() {
        return space;
    }

    public long address() {
        return address;
    }

    public int length() {
        return length;
    }

    public OptionalLong datamatch() {
        return datamatch;
    }

    /** What KVM signals on each matching write (the counter adds up writes not yet read). */
    public EventFd event() {
        return event;
    }

    /** KVM_IOEVENTFD with KVM_IOEVENTFD_FLAG_DEASSIGN, then closes the eventfd (closed even if that fails). */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            vm.ioeventfd(space, address, length, datamatch, event.fd(), true);
        } finally {
            event.close();
        }
    }

    /** "MMIO 0xfe003000+4 datamatch 0x1": the words the errors use. */
    static String describe(Space space, long address, int length, OptionalLong datamatch) {
        return space + " 0x" + Long.toHexString(address) + "+" + length
                + (datamatch.isPresent() ? " datamatch 0x" + Long.toHexString(datamatch.getAsLong()) : "");
    }

    @Override
    public String toString() {
        return "ioeventfd " + describe(space, address, length, datamatch);
    }
}
