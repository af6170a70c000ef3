package dev.jhv.core.boot;

/** The kernel or initrd cannot be booted; the message names the file and the reason, fit for the terminal. */
public final class BootException extends RuntimeException {
    public BootException(String message) {
        super(message);
    }

    public BootException(String message, Throwable cause) {
        super(message, cause);
    }
}
