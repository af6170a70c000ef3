package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The AOT cache's training run (scripts/train-aot) as the script drives it, without writing a cache: if its save
 * or incoming step breaks, jhv would silently start without the cache, so a failure must show here.
 */
@Tag("kvm")
class AotTrainingIT {
    @Test
    void trainingRunSavesAndLoadsTheTestGuest(@TempDir Path dir) throws Exception {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        Path disk = dir.resolve("train.qcow2");
        JhvProcess.runTool(JhvProcess.ROOT.resolve("jhv-img").toString(), "create", "-f", "qcow2", disk.toString(),
                "16M");
        var pb = new ProcessBuilder(JhvProcess.ROOT.resolve("jhv").toString(), JhvProcess.TESTOS.toString(),
                disk.toString(), dir.toString()).redirectErrorStream(true);
        pb.environment().put("JHV_MAIN", "dev.jhv.launcher.aot.TrainingRun");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(240, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(dir.resolve("train.bin")).as("the stream the save step wrote and the incoming step read")
                .isRegularFile();
        assertThat(Files.size(dir.resolve("train.bin"))).isGreaterThan(64L << 20);
        assertThat(disk).isRegularFile();
    }
}
