package dev.jhv.migration.channel;

import dev.jhv.core.sys.Errno;
import dev.jhv.core.sys.Libc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An inherited socket descriptor (fd:N where N is a socket: what libvirt hands QEMU) read and written with
 * read(2)/write(2): Java cannot open a socket through /proc/self/fd, nor wrap a descriptor in a SocketChannel. The
 * stream and the destination's answers share the socket, as over tcp:. {@link #close} shuts the socket down first,
 * which wakes a read or write blocked on it in another thread (a cancel, a stall), then closes it.
 */
final class FdSocket implements java.nio.channels.Channel {
    private static final int CHUNK = 64 * 1024;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int O_NONBLOCK = 0x800;

    private final int fd;
    private final AtomicBoolean open = new AtomicBoolean(true);

    FdSocket(int fd) {
        this.fd = fd;
        // the stream blocks like any socket stream: an inherited non-blocking descriptor is made blocking
        int flags = Libc.tryFcntl(fd, F_GETFL, 0);
        if (flags >= 0 && (flags & O_NONBLOCK) != 0) {
            Libc.tryFcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        }
    }

    /** Whether inherited descriptor {@code fd} is a socket (its /proc link reads "socket:[inode]"). */
    static boolean isSocket(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().startsWith("socket:");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    InputStream input() {
        return new InputStream() {
            private final MemorySegment buf = Arena.ofAuto().allocate(CHUNK);

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                while (true) {
                    if (!open.get()) {
                        throw new IOException("fd:" + fd + ": the connection was closed");
                    }
                    long n = Libc.tryRead(fd, buf, Math.min(len, CHUNK));
                    if (n == -Errno.EINTR) {
                        continue;
                    }
                    if (n < 0) {
                        throw failure("read", n);
                    }
                    if (n == 0) {
                        return -1;
                    }
                    MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, 0, b, off, (int) n);
                    return (int) n;
                }
            }

            @Override
            public void close() throws IOException {
                FdSocket.this.close();
            }
        };
    }

    OutputStream output() {
        return new OutputStream() {
            private final MemorySegment buf = Arena.ofAuto().allocate(CHUNK);

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                while (len > 0) {
                    int chunk = Math.min(len, CHUNK);
                    MemorySegment.copy(b, off, buf, ValueLayout.JAVA_BYTE, 0, chunk);
                    int done = 0;
                    while (done < chunk) {
                        if (!open.get()) {
                            throw new IOException("fd:" + fd + ": the connection was closed");
                        }
                        long n = Libc.tryWrite(fd, buf.asSlice(done), chunk - done);
                        if (n == -Errno.EINTR) {
                            continue;
                        }
                        if (n < 0) {
                            throw failure("write", n);
                        }
                        done += (int) n;
                    }
                    off += chunk;
                    len -= chunk;
                }
            }

            @Override
            public void close() throws IOException {
                FdSocket.this.close();
            }
        };
    }

    private IOException failure(String call, long rc) {
        int errno = (int) -rc;
        String why = switch (errno) {
            case 32 -> "Broken pipe";
            case 104 -> "Connection reset by peer";
            case 110 -> "Connection timed out";
            default -> Errno.name(errno);
        };
        return new IOException("fd:" + fd + ": " + call + ": " + why);
    }

    @Override
    public boolean isOpen() {
        return open.get();
    }

    /** Shuts the socket down (waking whoever is blocked on it) and closes the descriptor, once. */
    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            Libc.tryShutdown(fd, Libc.SHUT_RDWR);
            Libc.close(fd);
        }
    }
}
