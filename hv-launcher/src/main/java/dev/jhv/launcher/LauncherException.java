package dev.jhv.launcher;

/** Base of the launcher's errors: the message is one line for the person who typed the command. */
public class LauncherException extends RuntimeException {
    public LauncherException(String message) {
        super(message);
    }

    public LauncherException(String message, Throwable cause) {
        super(message, cause);
    }
}
