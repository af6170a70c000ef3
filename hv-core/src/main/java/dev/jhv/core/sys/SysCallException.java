package dev.jhv.core.sys;

/** A failed native call: names the call and the errno, e.g. {@code KVM_RUN: EINTR}. */
public class SysCallException extends RuntimeException {
    private final String call;
    private final int errno;

    public SysCallException(String call, int errno) {
        super(call + ": " + Errno.name(errno));
        this.call = call;
        this.errno = errno;
    }

    public SysCallException(String call, int errno, String detail) {
        super(call + ": " + Errno.name(errno) + " (" + detail + ")");
        this.call = call;
        this.errno = errno;
    }

    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }
}
