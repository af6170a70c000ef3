package dev.jhv.migration.snapshot;

/** savevm/loadvm/delvm could not do what was asked; the message is for the monitor. */
public final class SnapshotException extends RuntimeException {
    public SnapshotException(String message) {
        super(message);
    }

    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
