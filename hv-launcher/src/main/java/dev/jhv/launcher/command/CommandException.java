package dev.jhv.launcher.command;

import dev.jhv.launcher.LauncherException;

/**
 * An operation failed: HMP prints "Error: " and the message, QMP answers with {@link #errorClass()} and the
 * message. Other failures (a machine's IllegalStateException) are QMP's GenericError.
 */
public final class CommandException extends LauncherException {
    private final ErrorClass errorClass;

    public CommandException(String message) {
        this(ErrorClass.GenericError, message);
    }

    public CommandException(ErrorClass errorClass, String message) {
        super(message);
        this.errorClass = errorClass;
    }

    public ErrorClass errorClass() {
        return errorClass;
    }
}
