package dev.jhv.core.block;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The open flags (O_DIRECT, O_DSYNC, ...) of the descriptors a process holds on a file, from /proc's fd and fdinfo:
 * how one sees which cache mode an image really got.
 */
public final class OpenFileFlags {
    public static final int O_DSYNC = 010000;
    public static final int O_DIRECT = 040000;

    private OpenFileFlags() {
    }

    /** The flags of each descriptor of process {@code pid} ("self" for this one) that is open on {@code file}. */
    public static List<Integer> of(String pid, Path file) throws IOException {
        Path real = file.toRealPath();
        Path proc = Path.of("/proc", pid);
        try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
            return fds.filter(fd -> real.equals(target(fd))).map(fd -> flags(proc.resolve("fdinfo")
                    .resolve(fd.getFileName()))).toList();
        }
    }

    private static Path target(Path fd) {
        try {
            return Files.readSymbolicLink(fd);
        } catch (IOException e) {
            return null; // closed meanwhile
        }
    }

    private static int flags(Path fdinfo) {
        try {
            for (String line : Files.readAllLines(fdinfo)) {
                if (line.startsWith("flags:")) {
                    return Integer.parseInt(line.substring(6).trim(), 8);
                }
            }
        } catch (IOException e) {
            // closed meanwhile
        }
        return 0;
    }
}
