package dev.jhv.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a writer process (SIGKILL) at random points and has qemu-img check each image: leaked
 * clusters are acceptable, corruption is not.
 */
@Tag("qemu")
class CrashConsistencyTest {
    @TempDir
    Path tmp;

    @Test
    void killedWriterLeavesOnlyLeaks() throws Exception {
        var rnd = new Random(42);
        int[] clusterSizes = {512, 4096, 65536};
        int leaky = 0;
        for (int round = 0; round < 12; round++) {
            Path p = tmp.resolve("crash" + round + ".qcow2");
            int cs = clusterSizes[round % clusterSizes.length];
            Qcow2Image.create(p, Qcow2Image.CreateOptions.of(8 << 20).withClusterSize(cs)
                    .withLazyRefcounts(round % 4 == 3)).close();
            var pb = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                    "-cp", System.getProperty("java.class.path"), "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "dev.jhv.qcow2.CrashWriter", p.toString(), Long.toString(round * 7919L))
                    .redirectErrorStream(true);
            var proc = pb.start();
            int killAfter = 5 + rnd.nextInt(400);
            try (var in = new BufferedReader(new InputStreamReader(proc.getInputStream()))) {
                String line;
                int ops = -1;
                while ((line = in.readLine()) != null) {
                    if (line.startsWith("op ")) ops++;
                    else if (!line.equals("ready")) throw new AssertionError("writer: " + line);
                    if (ops >= killAfter) break;
                }
                proc.destroyForcibly();
            }
            assertThat(proc.waitFor(30, TimeUnit.SECONDS)).isTrue();
            var r = Qemu.run("qemu-img", "check", p.toString());
            assertThat(r.exit()).as("round %d (cluster %d): qemu-img check says\n%s", round, cs, r.out()).isIn(0, 3);
            assertThat(r.out()).doesNotContain("ERROR");
            if (r.exit() == 3) leaky++;
            // jhv opens it again (repairing a dirty lazy-refcount image) and can read and write it.
            try (var img = Qcow2Image.open(p, false)) {
                img.read(0, ByteBuffer.allocate((int) img.size()));
                img.write(12345, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            }
            var r2 = Qemu.run("qemu-img", "check", p.toString());
            assertThat(r2.exit()).as("after reopen: %s", r2.out()).isIn(0, 3);
        }
        assertThat(leaky).isLessThanOrEqualTo(12);
    }
}
