package dev.jhv.launcher.cli;

import dev.jhv.launcher.LauncherException;

/** A bad command line. The message is printed after "jhv: " as the only line on stderr. */
public final class UsageException extends LauncherException {
    public UsageException(String message) {
        super(message);
    }

    /** The QEMU style: "-m foo: invalid size 'foo'". */
    static UsageException forOption(String option, String value, String problem) {
        return new UsageException(option + " " + value + ": " + problem);
    }
}
