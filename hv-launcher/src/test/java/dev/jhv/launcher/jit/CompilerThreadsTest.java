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
                try {
                    String comm = Files.readString(t.resolve("comm")).strip();
                    if (comm.startsWith(prefix)) {
                        nices.add(CompilerThreads.nice(Files.readString(t.resolve("stat"))));
                    }
                } catch (java.nio.file.NoSuchFileException e) {
                    // a thread that ended after the listing (another test's, finishing): not ours to count
                }
            }
        }
        return nices;
    }

    @Test
    void c2ThreadsBecomeNicerThanTheRestAndOthersKeepTheirPriority() throws IOException {
        List<Integer> c2Before = niceOf("C2 CompilerThre");
        assumeTrue(!c2Before.isEmpty(), "this JVM runs without C2");
        List<Integer> c1Before = niceOf("C1 CompilerThre");
        // this thread's nice value: the process's, unless the test itself runs under nice
        int self = CompilerThreads.nice(Files.readString(Path.of("/proc/thread-self/stat")));

        CompilerThreads.lowerC2Priority();

        assertThat(niceOf("C2 CompilerThre"))
                .allMatch(n -> n >= Math.min(19, self + CompilerThreads.C2_NICE_INCREMENT));
        assertThat(niceOf("C1 CompilerThre")).isEqualTo(c1Before);
        assertThat(CompilerThreads.nice(Files.readString(Path.of("/proc/thread-self/stat")))).isEqualTo(self);
        List<Integer> c2After = niceOf("C2 CompilerThre");
        assertThat(CompilerThreads.lowerC2Priority()).as("a second call changes nothing").isZero();
        assertThat(niceOf("C2 CompilerThre")).isEqualTo(c2After);
    }

    @Test
    void niceIsReadFromStatEvenWhenTheNameHasSpacesAndParentheses() {
        String stat = "4242 (C2 Compiler) x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 20 7 1 0 100";
        assertThat(CompilerThreads.nice(stat)).isEqualTo(7);
    }
}
