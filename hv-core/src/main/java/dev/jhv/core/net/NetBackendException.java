package dev.jhv.core.net;

/** A backend that cannot start or broke: the message is the one line for the user ("could not configure ..."). */
public final class NetBackendException extends RuntimeException {
    public NetBackendException(String message) {
        super(message);
    }

    public NetBackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
