package dev.jhv.migration.channel;

import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/**
 * An "exec:" migration command run by /bin/sh, joined to jhv by a pipe of {@link #PIPE_BYTES} rather than the
 * kernel's default 64 KiB. Through a 64 KiB pipe every 64 KiB costs a wake-up of each side; moving 260 MiB
 * through {@code cat} took 0.25 s that way here and 0.06 s through 1 MiB. (The Process API makes its own pipes
 * and cannot size them, so the pipe is made here and handed over through /proc/self/fd.)
 */
final class ExecPipe {
    /** Linux's default pipe-max-size: the most an unprivileged process may ask for. */
    static final int PIPE_BYTES = 1 << 20;

    private ExecPipe() { }

    /** Starts {@code cmd} with its stdout on a pipe that jhv reads (an incoming stream). */
    static Started reading(String cmd) throws IOException {
        int[] fds = pipe();
        try {
            Process p = shell(cmd).redirectInput(new File("/dev/null")).redirectOutput(procFd(fds[1])).start();
            // opened while jhv still holds the write end, so the open cannot wait for a writer; a channel, so that
            // interrupting the reader ends a read that waits for the command (IncomingMigration.cancel)
            InputStream in = Channels.newInputStream(FileChannel.open(procFd(fds[0]).toPath(),
                    StandardOpenOption.READ));
            return new Started(p, in, null);
        } finally {
            Libc.close(fds[0]);
            Libc.close(fds[1]);
        }
    }

    /** Starts {@code cmd} with its stdin on a pipe that jhv writes (an outgoing stream); its stdout is dropped. */
    static Started writing(String cmd) throws IOException {
        int[] fds = pipe();
        try {
            Process p = shell(cmd).redirectInput(procFd(fds[0])).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            // a channel, so that a cancel (interrupting the writer) ends a write the command is not reading
            OutputStream out = Channels.newOutputStream(FileChannel.open(procFd(fds[1]).toPath(),
                    StandardOpenOption.WRITE));
            return new Started(p, null, out);
        } finally {
            Libc.close(fds[0]);
            Libc.close(fds[1]);
        }
    }

    /** The command and jhv's end of its pipe (exactly one of in, out). */
    record Started(Process process, InputStream in, OutputStream out) { }

    private static int[] pipe() throws IOException {
        int[] fds;
        try {
            fds = Libc.pipe2(Libc.O_CLOEXEC);
        } catch (SysCallException e) {
            throw new IOException("cannot make a pipe for the exec: command: " + e.getMessage(), e);
        }
        // a smaller pipe only costs speed: a refusal (the user's pipe-user-pages limit) is not an error
        Libc.tryFcntl(fds[0], Libc.F_SETPIPE_SZ, PIPE_BYTES);
        return fds;
    }

    private static File procFd(int fd) {
        return new File("/proc/self/fd/" + fd);
    }

    private static ProcessBuilder shell(String cmd) {
        return new ProcessBuilder("/bin/sh", "-c", cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
    }
}
