package dev.jhv.migration.channel;

import java.nio.file.Path;

/** Where a migration stream goes or comes from, as QEMU spells it: {@code exec:CMD}, {@code file:PATH}. */
public sealed interface MigrationUri {
    /** A shell command: the stream is its stdin (outgoing) or its stdout (incoming). */
    record Exec(String command) implements MigrationUri { }

    /** A file, written whole or read whole. */
    record File(Path path) implements MigrationUri { }

    static MigrationUri parse(String uri) {
        String u = uri.strip();
        if (u.length() >= 2 && u.startsWith("\"") && u.endsWith("\"")) {
            u = u.substring(1, u.length() - 1);
        }
        if (u.startsWith("exec:")) {
            String cmd = u.substring(5).strip();
            if (cmd.isEmpty()) {
                throw new IllegalArgumentException("exec: needs a command");
            }
            return new Exec(cmd);
        }
        if (u.startsWith("file:")) {
            String p = u.substring(5);
            if (p.isEmpty()) {
                throw new IllegalArgumentException("file: needs a path");
            }
            return new File(dev.jhv.core.sys.HostPaths.of(p));
        }
        int colon = u.indexOf(':');
        String scheme = colon > 0 ? u.substring(0, colon) : u;
        throw new IllegalArgumentException("unknown migration protocol: '" + scheme
                + "' (this build supports exec: and file:)");
    }
}
