package dev.jhv.qcow2.tool;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/** Bytes a file really occupies on disk (st_blocks * 512), for "disk size" / "actual-size". */
final class DiskUsage {
    private DiskUsage() {}

    private static final MethodHandle STAT;
    /** struct stat on x86-64 Linux: 144 bytes, st_blocks at offset 64. */
    private static final int STAT_SIZE = 144, ST_BLOCKS = 64;

    static {
        MethodHandle h = null;
        try {
            var linker = Linker.nativeLinker();
            h = linker.defaultLookup().find("stat").map(s -> linker.downcallHandle(s,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS))).orElse(null);
        } catch (RuntimeException | Error e) {
            h = null;
        }
        STAT = "amd64".equals(System.getProperty("os.arch")) ? h : null;
    }

    static long allocatedBytes(Path p) throws IOException {
        if (STAT != null) {
            try (var arena = Arena.ofConfined()) {
                var buf = arena.allocate(STAT_SIZE, 8);
                int rc = (int) STAT.invokeExact(arena.allocateFrom(p.toString()), buf);
                if (rc == 0) return buf.get(ValueLayout.JAVA_LONG, ST_BLOCKS) * 512;
            } catch (Throwable e) {
                // fall back to the apparent size
            }
        }
        return Files.size(p);
    }
}
