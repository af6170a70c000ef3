package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two monitor clients firing savevm, loadvm, delvm, migrate, stop, cont and quit at one jhv at random: it must never
 * crash, hang or end in a state from which cont fails, and its image must stay clean. Bounded: a few rounds of a
 * few dozen commands (seeded, so a failure can be replayed).
 */
@Tag("kvm")
@Tag("qemu")
@Tag("slow")
class MonitorTortureIT {
    static final Duration BOOT = Duration.ofSeconds(60);
    static final int ROUNDS = 10;
    static final int COMMANDS_PER_CLIENT = 12;

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    @Test
    void randomConcurrentStateCommandsNeverBreakTheMachine() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            round(round, new Random(4242 + round));
        }
    }

    private void round(int round, Random seed) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("round" + round));
        Path disk = dir.resolve("disk.qcow2");
        JhvProcess.runTool("qemu-img", "create", "-f", "qcow2", disk.toString(), "32M");
        Path sa = dir.resolve("a.sock");
        Path sb = dir.resolve("b.sock");
        boolean quitAtEnd = round % 2 == 1;
        try (JhvProcess jhv = JhvProcess.boot("mode=dirty mib=64 hb=500", "-m", "256", "-smp", "2",
                "-drive", "file=" + disk + ",format=qcow2,if=none,id=disk0",
                "-monitor", "unix:" + sa + ",server,nowait", "-monitor", "unix:" + sb + ",server,nowait");
             MonitorClient a = MonitorClient.connect(sa, BOOT);
             MonitorClient b = MonitorClient.connect(sb, BOOT)) {
            jhv.awaitLine("DIRTY cpu=0 pass=1", BOOT);
            assertThat(a.command("savevm base")).isBlank();
            // the guest dirties flat out: a migration converges only with a generous downtime limit (as in QEMU)
            assertThat(a.command("migrate_set_parameter downtime-limit 600000")).isBlank();
            ExecutorService clients = Executors.newFixedThreadPool(2);
            try {
                List<Future<List<String>>> done = new ArrayList<>();
                long s1 = seed.nextLong();
                long s2 = seed.nextLong();
                done.add(clients.submit(client(a, new Random(s1), dir, "a", quitAtEnd, false)));
                done.add(clients.submit(client(b, new Random(s2), dir, "b", false, quitAtEnd)));
                for (Future<List<String>> f : done) {
                    List<String> answers = f.get(5, TimeUnit.MINUTES);
                    assertThat(answers).as("round %d", round)
                            .noneMatch(s -> s.contains("Exception") || s.contains("dev.jhv."));
                }
            } finally {
                clients.shutdownNow();
            }
            if (quitAtEnd) {
                assertThat(jhv.awaitExit(BOOT)).as("round %d: exit after quit", round).isZero();
            } else {
                // whatever the commands left, the guest can run on from it and its memory checks out
                String cont = b.command("cont");
                assertThat(cont).as("round %d: cont", round).isBlank();
                assertThat(b.command("info status")).as("round %d", round).contains("VM status: running");
                int at = jhv.lineCount();
                jhv.send("verify\r");
                jhv.awaitLine(Pattern.compile("VERIFY OK pages=16384"), at, BOOT);
                b.send("quit");
                assertThat(jhv.awaitExit(BOOT)).isZero();
            }
            assertThat(jhv.stderr()).as("round %d", round).noneMatch(l -> l.contains("SIGSEGV") || l.contains("fatal error"));
        }
        assertThat(JhvProcess.runTool("qemu-img", "check", disk.toString())).contains("No errors were found");
    }

    /**
     * One client: random state commands; the last one quits when {@code quits}. Returns every answer. With
     * {@code mayBeCut}, the other client's quit may end jhv under it: the connection closing then ends the client.
     */
    private static Callable<List<String>> client(MonitorClient mon, Random r, Path dir, String name, boolean quits,
                                                 boolean mayBeCut) {
        return () -> {
            List<String> answers = new ArrayList<>();
            for (int i = 0; i < COMMANDS_PER_CLIENT; i++) {
                String cmd = switch (r.nextInt(8)) {
                    case 0, 1 -> "savevm " + name + (i % 3);
                    case 2 -> "loadvm base";
                    case 3 -> "loadvm " + (r.nextBoolean() ? "a" : "b") + r.nextInt(3);
                    case 4 -> "delvm " + name + r.nextInt(3);
                    case 5 -> "migrate file:" + dir.resolve(name + i + ".bin");
                    case 6 -> "stop";
                    default -> "cont";
                };
                try {
                    answers.add(cmd + " -> " + mon.command(cmd));
                } catch (java.io.IOException e) {
                    if (!mayBeCut) {
                        throw e;
                    }
                    break;
                }
            }
            if (quits) {
                mon.send("quit");
            }
            return answers;
        };
    }
}
