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

    /** How much nicer than the rest of jhv C2 threads are: CFS then gives them about a tenth of a contended core. */
    public static final int C2_NICE_INCREMENT = 10;
    /** Linux's largest nice value. */
    private static final int MAX_NICE = 19;

    private CompilerThreads() { }

    /**
     * Makes every C2 compiler thread that exists now {@link #C2_NICE_INCREMENT} nicer than the calling thread (at
     * most 19); returns how many it changed. Relative to the caller, so that a jhv started under {@code nice} keeps
     * its compilers below itself, and calling it again changes nothing.
     */
    public static int lowerC2Priority() {
        int target;
        try {
            target = Math.min(MAX_NICE, nice(Files.readString(Path.of("/proc/thread-self/stat"))) + C2_NICE_INCREMENT);
        } catch (IOException | RuntimeException e) {
            return 0; // no /proc: leave the compilers alone
        }
        int changed = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                String comm;
                int nice;
                try {
                    comm = Files.readString(task.resolve("comm")).strip();
                    nice = nice(Files.readString(task.resolve("stat")));
                } catch (IOException | RuntimeException e) {
                    continue; // the thread ended meanwhile
                }
                if (comm.startsWith(C2_PREFIX) && nice < target
                        && Libc.trySetThreadNice(Long.parseLong(task.getFileName().toString()), target) == 0) {
                    changed++;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return changed;
        }
        return changed;
    }

    /** The nice value in a /proc/.../stat line (field 19; the command name in parentheses may hold spaces). */
    static int nice(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(f[19 - 3]);
    }
}
