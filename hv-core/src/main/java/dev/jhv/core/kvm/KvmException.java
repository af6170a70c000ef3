package dev.jhv.core.kvm;

import dev.jhv.core.sys.SysCallException;

/** A failed KVM ioctl, named as the API names it: {@code KVM_CREATE_VM: EBUSY}. */
public final class KvmException extends SysCallException {
    public KvmException(String call, int errno) {
        super(call, errno);
    }

    public KvmException(String call, int errno, String detail) {
        super(call, errno, detail);
    }
}
