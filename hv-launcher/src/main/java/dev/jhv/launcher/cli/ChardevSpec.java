package dev.jhv.launcher.cli;

import java.nio.file.Path;
import java.util.Set;

/**
 * A character device as -serial and -monitor name it: stdio, null, none, file:PATH, unix:PATH[,server][,nowait],
 * tcp:HOST:PORT[,server][,nowait][,nodelay], and mon:DEV (DEV shared by the serial port and a monitor).
 */
public sealed interface ChardevSpec {
    /** The host's standard input and output (a terminal is put in raw mode). */
    record Stdio() implements ChardevSpec { }

    /** Output discarded, no input. */
    record Null() implements ChardevSpec { }

    /** No device at all ("-serial none": no COM1; "-monitor none": no monitor). */
    record None() implements ChardevSpec { }

    /** Output written to a file, truncated first (as QEMU does); no input. */
    record File(Path path) implements ChardevSpec { }

    /** A unix stream socket; server: listen (wait: block start-up until the first client), else connect. */
    record Unix(Path path, boolean server, boolean waitForClient) implements ChardevSpec { }

    /** A TCP socket; host "" means every interface for a server, localhost for a client. */
    record Tcp(String host, int port, boolean server, boolean waitForClient, boolean nodelay) implements ChardevSpec { }

    /** "mon:DEV": DEV multiplexed between the serial port (or other user) and a monitor, switched with Ctrl-A c. */
    record Mon(ChardevSpec inner) implements ChardevSpec { }

    /** Whether this device is (or wraps) a socket server that holds start-up until its first client connects. */
    default boolean waitsForClient() {
        return switch (this) {
            case Unix u -> u.server() && u.waitForClient();
            case Tcp t -> t.server() && t.waitForClient();
            case Mon(var inner) -> inner.waitsForClient();
            default -> false;
        };
    }

    /** Whether this device is (or wraps) stdio. */
    default boolean usesStdio() {
        return this instanceof Stdio || (this instanceof Mon(var inner) && inner.usesStdio());
    }

    /**
     * Parses the QEMU spelling; throws IllegalArgumentException with the problem
     * ("'bogus' is not a valid char driver").
     */
    static ChardevSpec parse(String text) {
        if (text.startsWith("mon:")) {
            var inner = parse(text.substring(4));
            if (inner instanceof Mon || inner instanceof None) {
                throw new IllegalArgumentException("'" + text + "' is not a valid char driver");
            }
            return new Mon(inner);
        }
        switch (text) {
            case "stdio": return new Stdio();
            case "null": return new Null();
            case "none": return new None();
            default: break;
        }
        int colon = text.indexOf(':');
        String kind = colon < 0 ? text : text.substring(0, colon);
        String rest = colon < 0 ? "" : text.substring(colon + 1);
        return switch (kind) {
            case "file" -> {
                if (rest.isEmpty()) {
                    throw new IllegalArgumentException("chardev: file: no filename given");
                }
                yield new File(dev.jhv.core.sys.HostPaths.of(rest));
            }
            case "unix" -> {
                var kv = KeyValueList.parse(rest, "path", Set.of("server", "wait"));
                String path = kv.take("path");
                if (path == null || path.isEmpty()) {
                    throw new IllegalArgumentException("chardev: unix: no path given");
                }
                boolean server = bool(kv, "server", false);
                boolean wait = bool(kv, "wait", true);
                kv.rejectUnknown("");
                yield new Unix(dev.jhv.core.sys.HostPaths.of(path), server, wait);
            }
            case "tcp" -> {
                var kv = KeyValueList.parse(rest, "addr", Set.of("server", "wait", "delay"));
                String addr = kv.take("addr");
                int sep = addr == null ? -1 : addr.lastIndexOf(':');
                if (sep < 0) {
                    throw new IllegalArgumentException("chardev: tcp: expected HOST:PORT, got '" + rest + "'");
                }
                String host = addr.substring(0, sep);
                if (host.startsWith("[") && host.endsWith("]")) {
                    host = host.substring(1, host.length() - 1);
                }
                int port;
                try {
                    port = Integer.parseInt(addr.substring(sep + 1));
                    if (port < 0 || port > 65535) {
                        throw new NumberFormatException();
                    }
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("chardev: tcp: invalid port '" + addr.substring(sep + 1) + "'");
                }
                boolean server = bool(kv, "server", false);
                boolean wait = bool(kv, "wait", true);
                boolean nodelay = kv.has("nodelay") ? bool(kv, "nodelay", true) : !bool(kv, "delay", true);
                kv.rejectUnknown("");
                yield new Tcp(host, port, server, wait, nodelay);
            }
            case "pty", "vc", "telnet", "udp", "pipe", "serial", "tty", "parallel", "msmouse", "braille", "websocket" ->
                    throw new IllegalArgumentException("char driver '" + kind + "' is not supported by jhv yet");
            default -> throw new IllegalArgumentException("'" + text + "' is not a valid char driver");
        };
    }

    /**
     * Parses a -chardev option ("socket,id=mon0,path=/tmp/m,server=on,wait=off") and hands its id and device to
     * {@code define}; returns the id. A duplicate id is refused.
     */
    static String parseChardevOption(String text, java.util.function.BiFunction<String, ChardevSpec, ChardevSpec>
            define) {
        var kv = KeyValueList.parse(text, "backend", Set.of("server", "wait", "delay", "nodelay"));
        String backend = kv.take("backend");
        String id = kv.take("id");
        if (id == null || id.isEmpty()) {
            throw new IllegalArgumentException("Parameter 'id' is missing");
        }
        ChardevSpec spec = switch (backend == null ? "" : backend) {
            case "socket" -> {
                String path = kv.take("path");
                String host = kv.take("host");
                String port = kv.take("port");
                boolean server = bool(kv, "server", false);
                boolean wait = bool(kv, "wait", true);
                boolean nodelay = kv.has("nodelay") ? bool(kv, "nodelay", true) : !bool(kv, "delay", true);
                if (path != null) {
                    if (path.isEmpty()) {
                        throw new IllegalArgumentException("chardev: socket: no path given");
                    }
                    yield new Unix(dev.jhv.core.sys.HostPaths.of(path), server, wait);
                }
                if (port == null) {
                    throw new IllegalArgumentException("chardev: socket: 'path' or 'port' is required");
                }
                if (parse("tcp:" + (host == null ? "" : host) + ":" + port) instanceof Tcp t) {
                    yield new Tcp(t.host(), t.port(), server, wait, nodelay);
                }
                throw new IllegalArgumentException("chardev: socket: invalid port '" + port + "'");
            }
            case "stdio" -> {
                kv.take("signal");
                yield new Stdio();
            }
            case "null" -> new Null();
            case "file" -> {
                String path = kv.take("path");
                if (path == null || path.isEmpty()) {
                    throw new IllegalArgumentException("chardev: file: no filename given");
                }
                yield new File(dev.jhv.core.sys.HostPaths.of(path));
            }
            default -> throw new IllegalArgumentException("'" + backend + "' is not a valid char driver");
        };
        kv.rejectUnknown("");
        if (define.apply(id, spec) != null) {
            throw new IllegalArgumentException("Duplicate ID '" + id + "' for chardev");
        }
        return id;
    }

    private static boolean bool(KeyValueList kv, String key, boolean dflt) {
        Boolean b = kv.takeBoolean(key, key);
        return b == null ? dflt : b;
    }

    /** QEMU's way of naming the device in messages: "unix:/tmp/m,server=on". */
    default String describe() {
        return switch (this) {
            case Stdio s -> "stdio";
            case Null n -> "null";
            case None n -> "none";
            case File f -> "file:" + f.path();
            case Unix u -> "unix:" + u.path() + (u.server() ? ",server=on" : "");
            case Tcp t -> "tcp:" + t.host() + ":" + t.port() + (t.server() ? ",server=on" : "");
            case Mon m -> "mon:" + m.inner().describe();
        };
    }
}
