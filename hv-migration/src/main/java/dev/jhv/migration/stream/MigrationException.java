package dev.jhv.migration.stream;

/**
 * A migration stream that cannot be written or loaded. Messages are for the person at the monitor: they name the
 * stream offset, the section and, for device state, the field (the cause is then a VMStateException).
 */
public class MigrationException extends RuntimeException {
    public MigrationException(String message) {
        super(message);
    }

    public MigrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
