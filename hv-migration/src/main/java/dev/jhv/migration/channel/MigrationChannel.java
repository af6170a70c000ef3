package dev.jhv.migration.channel;

import java.io.BufferedOutputStream;
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
        return switch (uri) {
            case MigrationUri.File(var path) -> new Out(new BufferedOutputStream(opened(path, () ->
                    Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                            StandardOpenOption.WRITE)), 1 << 20), null);
            case MigrationUri.Exec(var cmd) -> {
                var started = ExecPipe.writing(cmd);
                yield new Out(new BufferedOutputStream(started.out(), ExecPipe.PIPE_BYTES), started.process());
            }
        };
    }

    public static In openIncoming(MigrationUri uri) throws IOException {
        return switch (uri) {
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

        Out(OutputStream stream, Process process) {
            super(process);
            this.stream = stream;
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
        public final InputStream stream;

        In(InputStream stream, Process process) {
            super(process);
            this.stream = stream;
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
            endCommand();
        }
    }
}
