package dev.jhv.core.block;

import dev.jhv.core.sys.Errno;
import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/**
 * The locks an open image holds so that jhv, QEMU and qemu-img keep out of each other's way, in QEMU's scheme:
 * shared (read) OFD locks on single bytes of the file, byte {@code 100 + p} while this opener holds permission
 * {@code p} and byte {@code 200 + p} while it does not let others hold {@code p}. Nothing is written to the file.
 * The locks live as long as this object's own descriptor, which is why it opens one (a FileChannel hides its fd).
 */
public final class ImageLock implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ImageLock.class.getName());
    private static final int HELD_BASE = 100;
    private static final int UNSHARED_BASE = 200;
    private static volatile boolean warnedUnsupported;

    /** What an opener may do to the image; the order is QEMU's bit order, which fixes the lock bytes. */
    public enum Permission {
        CONSISTENT_READ("consistent read"),
        WRITE("write"),
        WRITE_UNCHANGED("write unchanged"),
        RESIZE("resize");

        private final String text;

        Permission(String text) {
            this.text = text;
        }

        /** The name QEMU's messages use ("write"). */
        public String text() {
            return text;
        }

        int heldByte() {
            return HELD_BASE + ordinal();
        }

        int unsharedByte() {
            return UNSHARED_BASE + ordinal();
        }
    }

    /**
     * One opener's role: the permissions it holds, those it refuses to share, whether it was told to share
     * everything (-U), and the role of the backing files it opens (null: {@link #backingFile()}).
     */
    public record Access(Set<Permission> held, Set<Permission> unshared, boolean forceShare, Access chain) {
        public Access {
            held = Set.copyOf(held);
            unshared = forceShare ? Set.of() : Set.copyOf(unshared);
        }

        /** A guest's disk (qemu-system's -drive with a device): reads, writes if writable; nobody else writes. */
        public static Access device(boolean writable) {
            return new Access(writable ? EnumSet.of(Permission.CONSISTENT_READ, Permission.WRITE)
                    : EnumSet.of(Permission.CONSISTENT_READ), EnumSet.of(Permission.WRITE), false, null);
        }

        /** qemu-img's read-only verbs that read data (check, map, snapshot -l): they let others do anything. */
        public static Access reader() {
            return new Access(EnumSet.of(Permission.CONSISTENT_READ), Set.of(), false, null);
        }

        /** qemu-img info: reads metadata only, holds nothing; backing files are not locked at all. */
        public static Access inspector() {
            return new Access(Set.of(), Set.of(), false, none());
        }

        /** qemu-img's verbs that change an image (snapshot -c/-a/-d, resize, commit, rebase, check -r). */
        public static Access writer() {
            return new Access(EnumSet.of(Permission.CONSISTENT_READ, Permission.WRITE, Permission.RESIZE), Set.of(),
                    false, null);
        }

        /** A backing file: read; nobody may write or resize it under the images above. */
        public static Access backingFile() {
            return new Access(EnumSet.of(Permission.CONSISTENT_READ), EnumSet.of(Permission.WRITE, Permission.RESIZE),
                    false, null);
        }

        /** No locks at all. */
        public static Access none() {
            return new Access(Set.of(), Set.of(), true, null);
        }

        public boolean writes() {
            return held.contains(Permission.WRITE);
        }

        /** -U / --force-share: lets every other opener in, this image's backing files too; read-only opens only. */
        public Access forceShared() {
            if (writes()) throw new IllegalArgumentException("force-share=on can only be used with read-only images");
            return new Access(held, Set.of(), true, chain);
        }

        /** The same, but refusing others these permissions too (convert's source: nobody writes it meanwhile). */
        public Access unsharing(Permission... more) {
            var u = unshared.isEmpty() ? EnumSet.noneOf(Permission.class) : EnumSet.copyOf(unshared);
            u.addAll(Set.of(more));
            return new Access(held, u, forceShare, chain);
        }

        /** The same, with backing files opened in {@code backing}'s role. */
        public Access withChain(Access backing) {
            return new Access(held, unshared, forceShare, backing);
        }

        /** The same, but sharing everything (unlike -U, allowed while writing). */
        public Access sharingAll() {
            return new Access(held, Set.of(), true, chain);
        }

        /** The role this opener's backing files are opened in. */
        public Access backing() {
            if (chain != null) return chain;
            if (forceShare) return held.isEmpty() ? this : reader().sharingAll();
            return backingFile();
        }

        /**
         * The role of a qcow2 image's file: qcow2 grows its file when it writes, and its metadata must not change
         * under it, so it also holds resize when writing and refuses write and resize to others unless forced.
         */
        public Access qcow2File() {
            var h = held.isEmpty() ? EnumSet.noneOf(Permission.class) : EnumSet.copyOf(held);
            if (writes()) h.add(Permission.RESIZE);
            var u = unshared.isEmpty() ? EnumSet.noneOf(Permission.class) : EnumSet.copyOf(unshared);
            u.add(Permission.WRITE);
            u.add(Permission.RESIZE);
            return new Access(h, u, forceShare, chain);
        }
    }

    /** Another opener holds what this one refuses to share, or refuses what this one needs. */
    public static final class ConflictException extends IOException {
        private final Path path;

        ConflictException(Path path, String message) {
            super(message + "\nIs another process using the image [" + path + "]?");
            this.path = path;
        }

        /** The file whose lock was refused (a backing file, perhaps, not the image that was opened). */
        public Path path() {
            return path;
        }
    }

    private final int fd;
    private boolean closed;

    private ImageLock(int fd) {
        this.fd = fd;
    }

    /**
     * Locks {@code path} for {@code access}, or throws {@link ConflictException} with QEMU's text ("Failed to get
     * "write" lock"). A file system without OFD locks gets no locks, with a warning once (as QEMU does).
     */
    public static ImageLock acquire(Path path, Access access) throws IOException {
        if (access.held().isEmpty() && access.unshared().isEmpty()) {
            return new ImageLock(-1);
        }
        int fd;
        try {
            fd = Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
        } catch (SysCallException e) {
            throw new IOException(path + ": " + Errno.name(e.errno()), e);
        }
        try {
            // lock first, then look at the others: two openers racing each see the other's bytes and both back off
            for (Permission p : access.held()) {
                if (!lock(fd, path, p.heldByte())) return unsupported(fd);
            }
            for (Permission p : access.unshared()) {
                if (!lock(fd, path, p.unsharedByte())) return unsupported(fd);
            }
            for (Permission p : Permission.values()) {
                if (access.held().contains(p) && takenByOthers(fd, p.unsharedByte())) {
                    throw new ConflictException(path, "Failed to get \"" + p.text() + "\" lock");
                }
            }
            for (Permission p : Permission.values()) {
                if (access.unshared().contains(p) && takenByOthers(fd, p.heldByte())) {
                    throw new ConflictException(path, "Failed to get shared \"" + p.text() + "\" lock");
                }
            }
            return new ImageLock(fd);
        } catch (IOException | RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    /** Sets one read lock; false when this file system has no OFD locks. */
    private static boolean lock(int fd, Path path, int offset) throws IOException {
        int rc = Libc.tryOfdSetLock(fd, Libc.F_RDLCK, offset, 1);
        if (rc == 0) return true;
        if (rc == -Errno.EAGAIN || rc == -Errno.EACCES) {
            // someone outside this scheme holds an exclusive lock on the byte
            throw new ConflictException(path, "Failed to lock byte " + offset);
        }
        return false;
    }

    /** Whether another open file description holds a lock on the byte (a write lock there would conflict). */
    private static boolean takenByOthers(int fd, int offset) {
        int found = Libc.tryOfdGetLock(fd, Libc.F_WRLCK, offset, 1);
        return found >= 0 && found != Libc.F_UNLCK;
    }

    private static ImageLock unsupported(int fd) {
        Libc.close(fd);
        if (!warnedUnsupported) {
            warnedUnsupported = true;
            LOG.log(System.Logger.Level.WARNING, "file locking is not supported here; images are opened unlocked");
        }
        return new ImageLock(-1);
    }

    /** Whether this lock holds anything (false for an access without permissions or without OFD lock support). */
    public boolean held() {
        return fd >= 0;
    }

    /** Drops the locks: closing the descriptor releases all of them. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (fd >= 0) Libc.close(fd);
    }
}
