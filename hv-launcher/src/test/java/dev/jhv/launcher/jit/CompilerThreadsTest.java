package dev.jhv.launcher.jit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class CompilerThreadsTest {
    /** The nice value of each thread of this process whose name starts with {@code prefix} (from /proc). */
    static List<Integer> niceOf(String prefix) throws IOException {
        var nices = new ArrayList<Integer>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                String comm = Files.readString(t.resolve("comm")).strip();
                if (comm.startsWith(prefix)) {
                    String stat = Files.readString(t.resolve("stat"));
                    // fields after "(comm) ": state is field 3, nice is field 19
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    nices.add(Integer.parseInt(f[19 - 3]));
                }
            }
        }
        return nices;
    }

    @Test
    void c2ThreadsGetTheLowerPriorityAndOthersKeepTheirs() throws IOException {
        assumeTrue(!niceOf("C2 CompilerThre").isEmpty(), "this JVM runs without C2");
        int c1Before = niceOf("C1 CompilerThre").stream().findFirst().orElse(0);

        assertThat(CompilerThreads.lowerC2Priority()).isEqualTo(niceOf("C2 CompilerThre").size());

        assertThat(niceOf("C2 CompilerThre")).containsOnly(CompilerThreads.C2_NICE);
        assertThat(niceOf("C1 CompilerThre")).allMatch(n -> n == c1Before);
        assertThat(niceOf("main")).allMatch(n -> n == 0);
    }
}
