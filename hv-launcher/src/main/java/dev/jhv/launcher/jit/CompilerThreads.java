package dev.jhv.launcher.jit;

import dev.jhv.core.sys.Libc;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Lowers the scheduling priority of the JVM's C2 compiler threads. At start-up C2 compiles hundreds of methods
 * the start-up itself made hot; on a host with few cores it then takes a core from the threads the guest is waiting
 * for (an incoming stream, vCPUs). At a higher nice value it still uses every idle cycle, but yields when they
 * compete. Raising one's own nice value needs no privilege. Measured on 2 cores: -incoming of 256 MiB 0.57 -> 0.49 s,
 * migrate and savevm unchanged (benchmarks/saverestore.sh); boot to READY 0.17 -> 0.15 s. C2 threads the JVM adds
 * later keep nice 0.
 */
public final class CompilerThreads {
    /** Compiler threads are named "C2 CompilerThreadN"; /proc shows the first 15 characters. */
    private static final String C2_PREFIX = "C2 CompilerThre";

    /** The nice value C2 threads get: CFS then gives them about a tenth of a contended core's time. */
    public static final int C2_NICE = 10;

    private CompilerThreads() { }

    /** Gives every C2 compiler thread that exists now the nice value {@link #C2_NICE}; returns how many it changed. */
    public static int lowerC2Priority() {
        return lowerC2Priority(C2_NICE);
    }

    static int lowerC2Priority(int nice) {
        int changed = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                String comm;
                try {
                    comm = Files.readString(task.resolve("comm")).strip();
                } catch (IOException e) {
                    continue; // the thread ended meanwhile
                }
                if (comm.startsWith(C2_PREFIX)
                        && Libc.trySetThreadNice(Long.parseLong(task.getFileName().toString()), nice) == 0) {
                    changed++;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return changed;
        }
        return changed;
    }
}
