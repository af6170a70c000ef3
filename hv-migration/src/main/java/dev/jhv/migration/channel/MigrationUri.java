package dev.jhv.migration.channel;

import java.nio.file.Path;

/**
 * Where a migration stream goes or comes from, as QEMU spells it: {@code tcp:HOST:PORT}, {@code unix:PATH},
 * {@code fd:N}, {@code exec:CMD}, {@code file:PATH}. Sockets carry a return path (the destination's
 * acknowledgement); exec: and file: do not.
 */
public sealed interface MigrationUri {
    /** A shell command: the stream is its stdin (outgoing) or its stdout (incoming). */
    record Exec(String command) implements MigrationUri { }

    /** A file, written whole or read whole. */
    record File(Path path) implements MigrationUri { }

    /** A TCP address; an empty host or "0" listens on every address (incoming), IPv6 in brackets. */
    record Tcp(String host, int port) implements MigrationUri {
        /** The host to bind for listening: every address for "" and "0". */
        public String bindHost() {
            return host.isEmpty() || host.equals("0") ? "0.0.0.0" : host;
        }
    }

    /** A unix socket path. */
    record Unix(Path path) implements MigrationUri { }

    /** An inherited descriptor (a connected socket, with the return path on it, or a pipe or a file). */
    record Fd(int fd) implements MigrationUri { }

    /** Whether the destination can answer over the same connection. */
    default boolean hasReturnPath() {
        return this instanceof Tcp || this instanceof Unix;
    }

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
        if (u.startsWith("unix:")) {
            String p = u.substring(5);
            if (p.isEmpty()) {
                throw new IllegalArgumentException("unix: needs a socket path");
            }
            return new Unix(dev.jhv.core.sys.HostPaths.of(p));
        }
        if (u.startsWith("tcp:")) {
            return tcp(u, u.substring(4));
        }
        if (u.startsWith("fd:")) {
            try {
                int fd = Integer.parseInt(u.substring(3));
                if (fd < 0) {
                    throw new NumberFormatException();
                }
                return new Fd(fd);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("fd: needs a descriptor number, not '" + u.substring(3)
                        + "' (descriptors named by getfd are not supported: pass one jhv inherited, by number)");
            }
        }
        int colon = u.indexOf(':');
        String scheme = colon > 0 ? u.substring(0, colon) : u;
        throw new IllegalArgumentException("unknown migration protocol: '" + scheme
                + "' (this build supports tcp:, unix:, fd:, exec: and file:)");
    }

    private static Tcp tcp(String uri, String addr) {
        String host;
        String port;
        if (addr.startsWith("[")) {
            int end = addr.indexOf(']');
            if (end < 0 || end + 1 >= addr.length() || addr.charAt(end + 1) != ':') {
                throw new IllegalArgumentException("'" + uri + "': expected tcp:[IPV6]:PORT");
            }
            host = addr.substring(1, end);
            port = addr.substring(end + 2);
        } else {
            int colon = addr.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("'" + uri + "': expected tcp:HOST:PORT");
            }
            host = addr.substring(0, colon);
            port = addr.substring(colon + 1);
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            p = -1;
        }
        if (p < 0 || p > 65535) {
            throw new IllegalArgumentException("'" + uri + "': '" + port + "' is not a port number");
        }
        return new Tcp(host, p);
    }
}
