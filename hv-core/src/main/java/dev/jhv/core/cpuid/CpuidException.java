package dev.jhv.core.cpuid;

/** A CPU model or CPUID set-up that cannot be honoured; the message is for the person at the terminal. */
public final class CpuidException extends RuntimeException {
    public CpuidException(String message) {
        super(message);
    }
}
