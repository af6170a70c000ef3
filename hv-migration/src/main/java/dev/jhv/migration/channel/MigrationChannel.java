package dev.jhv.migration.channel;

import java.io.BufferedOutputStream;
import java.net.InetSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/** Opens the byte pipe a migration URI names; closing it waits for an exec command and checks its status. */
public abstract sealed class MigrationChannel implements AutoCloseable permits MigrationChannel.Out, MigrationChannel.In {

    public static Out openOutgoing(MigrationUri uri) throws IOException {
        return openOutgoing(uri, new Connecting());
    }

    /**
     * A connect under way, which {@link #abort} ends from another thread (a cancel while the destination does not
     * answer: TCP would wait for its connect timeout, a unix socket whose listener's backlog is full for ever).
     */
    public static final class Connecting {
        private java.nio.channels.Channel channel;
        private boolean aborted;

        /** Ends the connect under way, and any later one, with "migration cancelled". */
        public void abort() {
            java.nio.channels.Channel c;
            synchronized (this) {
                aborted = true;
                c = channel;
            }
            if (c != null) {
                try {
                    c.close(); // a blocked connect fails with AsynchronousCloseException
                } catch (IOException e) {
                    // closed is all we wanted
                }
            }
        }

        private synchronized void begin(java.nio.channels.Channel c) throws IOException {
            if (aborted) {
                c.close();
                throw new IOException("migration cancelled");
            }
            channel = c;
        }

        private synchronized void check(IOException e) throws IOException {
            channel = null;
            if (aborted) {
                throw new IOException("migration cancelled", e);
            }
        }

        private synchronized void done() {
            channel = null;
        }
    }

    /** Opens the channel; {@code connecting} can end a socket's connect from another thread. */
    public static Out openOutgoing(MigrationUri uri, Connecting connecting) throws IOException {
        return openOutgoing(uri, connecting, SocketSecurity.NONE);
    }

    /** Opens the channel; a socket's bytes go through {@code security} (TLS), set up before this returns. */
    public static Out openOutgoing(MigrationUri uri, Connecting connecting, SocketSecurity security)
            throws IOException {
        return switch (uri) {
            case MigrationUri.Tcp t -> socketOut(connect(t, t.host().isEmpty() ? "localhost" : t.host(),
                    connecting), security, connecting);
            case MigrationUri.Unix u -> socketOut(connect(u, connecting), security, connecting);
            case MigrationUri.Fd(int fd) when isSocket(fd) -> {
                FdSocket s = new FdSocket(fd);
                yield new Out(new BufferedOutputStream(s.output(), 1 << 16), null, s.input(), s);
            }
            case MigrationUri.Fd(int fd) -> new Out(new BufferedOutputStream(java.nio.channels.Channels.newOutputStream(
                    java.nio.channels.FileChannel.open(inherited(fd), StandardOpenOption.WRITE)), 1 << 20), null);
            case MigrationUri.File(var path) -> new Out(new BufferedOutputStream(opened(path, () ->
                    Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                            StandardOpenOption.WRITE)), 1 << 20), null);
            case MigrationUri.Exec(var cmd) -> {
                var started = ExecPipe.writing(cmd);
                yield new Out(new BufferedOutputStream(started.out(), ExecPipe.PIPE_BYTES), started.process());
            }
        };
    }

    /**
     * The stream of a connected socket, with the destination's answers on the same connection; the connect stays
     * abortable until {@code security} has set up (a TLS handshake the destination never answers).
     */
    private static Out socketOut(SocketChannel sc, SocketSecurity security, Connecting connecting)
            throws IOException {
        try {
            connecting.begin(sc);
            var s = security.over(Channels.newInputStream(sc), Channels.newOutputStream(sc));
            connecting.done();
            return new Out(new BufferedOutputStream(s.out(), 1 << 16), null, s.in(), sc);
        } catch (IOException e) {
            sc.close();
            connecting.check(e);
            throw e;
        }
    }

    private static SocketChannel connect(MigrationUri.Tcp t, String host, Connecting connecting)
            throws IOException {
        var addr = new InetSocketAddress(host, t.port());
        if (addr.isUnresolved()) {
            throw new IOException("address resolution failed for " + host + ":" + t.port()
                    + ": Name or service not known");
        }
        SocketChannel sc = SocketChannel.open();
        connecting.begin(sc);
        try {
            sc.socket().connect(addr, CONNECT_TIMEOUT_MS);
            sc.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
            connecting.done();
            return sc;
        } catch (IOException e) {
            sc.close();
            connecting.check(e);
            throw new IOException("Failed to connect to '" + host + ":" + t.port() + "': " + socketReason(e), e);
        }
    }

    private static SocketChannel connect(MigrationUri.Unix u, Connecting connecting) throws IOException {
        SocketChannel sc = SocketChannel.open(java.net.StandardProtocolFamily.UNIX);
        connecting.begin(sc);
        try {
            sc.connect(java.net.UnixDomainSocketAddress.of(u.path()));
            connecting.done();
            return sc;
        } catch (IOException e) {
            sc.close();
            connecting.check(e);
            throw new IOException("Failed to connect to '" + u.path() + "': " + socketReason(e), e);
        }
    }

    /** strerror's words for a socket failure (Java's messages vary and sometimes name the class). */
    static String socketReason(IOException e) {
        return switch (e) {
            case java.net.ConnectException c -> "Connection refused";
            case java.net.SocketTimeoutException t -> "Connection timed out";
            case java.net.NoRouteToHostException n -> "No route to host";
            case java.net.BindException b -> "Address already in use";
            default -> e.getMessage() != null ? e.getMessage() : "connection failed";
        };
    }

    private static final int CONNECT_TIMEOUT_MS = 10_000;

    /** An inherited socket (checked to exist first, for the error's sake). */
    private static boolean isSocket(int fd) throws IOException {
        inherited(fd);
        return FdSocket.isSocket(fd);
    }

    private static Path inherited(int fd) throws IOException {
        Path p = Path.of("/proc/self/fd/" + fd);
        if (!Files.exists(p)) {
            throw new IOException("fd:" + fd + ": Bad file descriptor (no such descriptor was inherited)");
        }
        return p;
    }

    /**
     * A destination bound before anything else (so that a port in use is refused at start, as QEMU does) and
     * accepting its one source later.
     */
    public static Listener listen(MigrationUri uri) throws IOException {
        return switch (uri) {
            case MigrationUri.Tcp t -> new Listener(uri, bind(ServerSocketChannel.open(),
                    new InetSocketAddress(t.bindHost(), t.port()), "Failed to bind socket"));
            case MigrationUri.Unix u -> {
                Files.deleteIfExists(u.path()); // a stale socket of an earlier run, as QEMU replaces it
                yield new Listener(uri, bind(ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX),
                        java.net.UnixDomainSocketAddress.of(u.path()), "Failed to bind socket to " + u.path()));
            }
            default -> new Listener(uri, null);
        };
    }

    /** Binds a listening socket for one source; a failure closes it and says why in strerror's words. */
    private static ServerSocketChannel bind(ServerSocketChannel server, java.net.SocketAddress addr, String what)
            throws IOException {
        try {
            if (addr instanceof InetSocketAddress) {
                server.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
            }
            server.bind(addr, 1);
            return server;
        } catch (IOException e) {
            server.close();
            throw new IOException(what + ": " + socketReason(e), e);
        }
    }

    /** A bound destination; {@link #accept} waits for the source (interruptible). */
    public static final class Listener implements AutoCloseable {
        private final MigrationUri uri;
        private final ServerSocketChannel server;

        Listener(MigrationUri uri, ServerSocketChannel server) {
            this.uri = uri;
            this.server = server;
        }

        public MigrationUri uri() {
            return uri;
        }

        /**
         * The address it listens on as QEMU's info migrate shows it on a destination ("tcp:0.0.0.0:4444",
         * "unix:/path"), or null for what is not a listening socket.
         */
        public String socketAddress() {
            if (server == null) {
                return null;
            }
            try {
                return switch (server.getLocalAddress()) {
                    // the host as asked for (Java's dual-stack socket reports 0.0.0.0 as ::), the port as bound
                    case InetSocketAddress a when uri instanceof MigrationUri.Tcp t -> "tcp:"
                            + (t.bindHost().contains(":") ? "[" + t.bindHost() + "]" : t.bindHost()) + ":" + a.getPort();
                    case java.net.UnixDomainSocketAddress u -> "unix:" + u.getPath();
                    case null, default -> null;
                };
            } catch (IOException e) {
                return null; // closed: it listens no more
            }
        }

        /** The port bound, for tcp: with port 0; -1 otherwise. */
        public int localPort() throws IOException {
            return server != null && server.getLocalAddress() instanceof InetSocketAddress a ? a.getPort() : -1;
        }

        public In accept() throws IOException {
            return accept(false);
        }

        /**
         * Accepts the source's main connection; with {@code keepListening} (multifd) the listener stays open for the
         * channels that follow it ({@link #acceptNext}) until it is closed.
         */
        public In accept(boolean keepListening) throws IOException {
            if (server == null) {
                return openIncoming(uri);
            }
            SocketChannel sc = server.accept();
            if (!keepListening) {
                server.close(); // one source, as QEMU
            }
            return new In(Channels.newInputStream(sc), null, Channels.newOutputStream(sc), sc);
        }

        /** Another connection of the same migration (a multifd channel); only after {@code accept(true)}. */
        public In acceptNext() throws IOException {
            if (server == null) {
                throw new IOException("only a socket accepts more than one connection");
            }
            SocketChannel sc = server.accept();
            return new In(Channels.newInputStream(sc), null, Channels.newOutputStream(sc), sc);
        }

        @Override
        public void close() throws IOException {
            if (server != null) {
                server.close();
                if (uri instanceof MigrationUri.Unix u) {
                    Files.deleteIfExists(u.path());
                }
            }
        }
    }

    public static In openIncoming(MigrationUri uri) throws IOException {
        return switch (uri) {
            case MigrationUri.Tcp t -> listen(t).accept();
            case MigrationUri.Unix u -> listen(u).accept();
            case MigrationUri.Fd(int fd) when isSocket(fd) -> {
                FdSocket s = new FdSocket(fd);
                yield new In(s.input(), null, s.output(), s); // the destination answers on the same socket
            }
            case MigrationUri.Fd(int fd) -> new In(java.nio.channels.Channels.newInputStream(
                    java.nio.channels.FileChannel.open(inherited(fd), StandardOpenOption.READ)), null);
            case MigrationUri.File(var path) -> new In(opened(path, () -> Files.newInputStream(path)), null);
            case MigrationUri.Exec(var cmd) -> {
                var started = ExecPipe.reading(cmd);
                yield new In(started.in(), started.process());
            }
        };
    }

    private interface Opener<T> {
        T open() throws IOException;
    }

    /** Opens a file: URI's file; a failure says why (NIO's NoSuchFileException message is the bare path). */
    private static <T> T opened(Path path, Opener<T> opener) throws IOException {
        try {
            return opener.open();
        } catch (FileSystemException e) {
            String why = switch (e) {
                case NoSuchFileException n -> "No such file or directory";
                case AccessDeniedException a -> "Permission denied";
                case FileAlreadyExistsException f -> "File exists";
                default -> e.getReason() != null ? e.getReason() : e.getClass().getSimpleName();
            };
            throw new IOException("cannot open " + path + ": " + why, e);
        }
    }

    protected final Process process;
    /** How long a failed load waits for the exec: command's exit status. */
    private static final long EXIT_GRACE_MILLIS = 500;

    MigrationChannel(Process process) {
        this.process = process;
    }

    /** Waits for an exec command to end; a non-zero status is a failed migration. */
    protected void awaitCommand() throws IOException {
        if (process == null) {
            return;
        }
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("exec: command did not finish");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            endCommand(); // cancelled: what it started must not outlive the migration
            throw new IOException("migration cancelled");
        }
        if (process.exitValue() != 0) {
            throw new CommandFailed(process.exitValue());
        }
    }

    /** Ends the exec: command and what it started (a shell's children would keep running). */
    protected void endCommand() {
        if (process != null) {
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
        }
    }

    /** The exec: command ended with a non-zero status: the cause of whatever else went wrong with its pipe. */
    public static final class CommandFailed extends IOException {
        CommandFailed(int status) {
            super("the exec: command exited with status " + status);
        }
    }

    public static final class Out extends MigrationChannel {
        public final OutputStream stream;
        /** The destination's answers (sockets), or null. */
        public final InputStream returnPath;
        private final java.nio.channels.Channel connection;

        Out(OutputStream stream, Process process) {
            this(stream, process, null, null);
        }

        Out(OutputStream stream, Process process, InputStream returnPath, java.nio.channels.Channel connection) {
            super(process);
            this.stream = stream;
            this.returnPath = returnPath;
            this.connection = connection;
        }

        /** Breaks the connection from another thread (cancel, a stall): blocked writes and reads fail at once. */
        public void abort() {
            try {
                if (connection != null) {
                    connection.close();
                }
            } catch (IOException e) {
                // closing is all we wanted
            }
            endCommand();
        }

        @Override
        public void close() throws IOException {
            try {
                stream.close();
            } catch (IOException e) {
                endCommand(); // the stream is broken: nothing the command still waits for will come
                throw e;
            } finally {
                awaitCommand();
            }
        }
    }

    public static final class In extends MigrationChannel {
        /**
         * This connection's bytes through {@code security} (TLS, set up now: a failure closes it); an In that is
         * not a socket is returned as it is.
         */
        public In secured(SocketSecurity security) throws IOException {
            if (connection == null || security == SocketSecurity.NONE) {
                return this;
            }
            try {
                var s = security.over(stream, returnPath);
                return new In(s.in(), process, s.out(), connection);
            } catch (IOException e) {
                close();
                throw e;
            }
        }

        public final InputStream stream;
        /** Where the destination answers the source (sockets), or null. */
        public final OutputStream returnPath;
        private final java.nio.channels.Channel connection;

        In(InputStream stream, Process process) {
            this(stream, process, null, null);
        }

        In(InputStream stream, Process process, OutputStream returnPath, java.nio.channels.Channel connection) {
            super(process);
            this.stream = stream;
            this.returnPath = returnPath;
            this.connection = connection;
        }

        /**
         * "the exec: command exited with status N" if the command has ended with a non-zero status, or ends so
         * within a moment (its pipe closes just before it exits); null otherwise.
         */
        public String commandFailure() {
            if (process == null) {
                return null;
            }
            try {
                if (process.waitFor(EXIT_GRACE_MILLIS, TimeUnit.MILLISECONDS) && process.exitValue() != 0) {
                    return new CommandFailed(process.exitValue()).getMessage();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        }

        /** Closes jhv's end and ends the command with what it started (a shell's children would keep running). */
        @Override
        public void close() throws IOException {
            stream.close();
            if (connection != null) {
                connection.close();
            }
            endCommand();
        }
    }
}
