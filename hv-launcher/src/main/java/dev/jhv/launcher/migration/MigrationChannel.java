package dev.jhv.launcher.migration;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/** Opens the byte pipe a migration URI names; closing it waits for an exec command and checks its status. */
abstract sealed class MigrationChannel implements AutoCloseable permits MigrationChannel.Out, MigrationChannel.In {

    static Out openOutgoing(MigrationUri uri) throws IOException {
        return switch (uri) {
            case MigrationUri.File(var path) -> new Out(new BufferedOutputStream(Files.newOutputStream(path,
                    StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE),
                    1 << 20), null);
            case MigrationUri.Exec(var cmd) -> {
                var started = ExecPipe.writing(cmd);
                yield new Out(new BufferedOutputStream(started.out(), ExecPipe.PIPE_BYTES), started.process());
            }
        };
    }

    static In openIncoming(MigrationUri uri) throws IOException {
        return switch (uri) {
            case MigrationUri.File(var path) -> new In(Files.newInputStream(path), null);
            case MigrationUri.Exec(var cmd) -> {
                var started = ExecPipe.reading(cmd);
                yield new In(started.in(), started.process());
            }
        };
    }

    protected final Process process;

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
            throw new IOException("interrupted waiting for the exec: command");
        }
        if (process.exitValue() != 0) {
            throw new IOException("exec: command exited with status " + process.exitValue());
        }
    }

    static final class Out extends MigrationChannel {
        final OutputStream stream;

        Out(OutputStream stream, Process process) {
            super(process);
            this.stream = stream;
        }

        @Override
        public void close() throws IOException {
            try {
                stream.close();
            } finally {
                awaitCommand();
            }
        }
    }

    static final class In extends MigrationChannel {
        final InputStream stream;

        In(InputStream stream, Process process) {
            super(process);
            this.stream = stream;
        }

        @Override
        public void close() throws IOException {
            stream.close();
            if (process != null) {
                process.destroy();
            }
        }
    }
}
