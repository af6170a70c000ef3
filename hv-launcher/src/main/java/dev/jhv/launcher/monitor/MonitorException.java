package dev.jhv.launcher.monitor;

import dev.jhv.launcher.LauncherException;

/** A command failed; the message is printed on the monitor and the monitor carries on. */
public final class MonitorException extends LauncherException {
    public MonitorException(String message) {
        super(message);
    }
}
