package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two monitors on one jhv, one running a state operation (savevm, loadvm, migrate) while the other quits or
 * starts another: jhv must finish or cancel cleanly, refuse what cannot run with QEMU's words, and keep a run
 * state from which the guest can go on.
 */
@Tag("kvm")
@Tag("qemu")
class ConcurrentMonitorIT {
    static final Duration BOOT = Duration.ofSeconds(60);
    /** Enough dirty RAM that a save takes a noticeable part of a second. */
    static final String WORKLOAD = "mode=dirty mib=256 hb=200";

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    /** A jhv with a qcow2 drive and two monitor sockets. */
    record Vm(JhvProcess jhv, MonitorClient a, MonitorClient b, Path disk) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            a.close();
            b.close();
            jhv.close();
        }
    }

    Vm boot() throws Exception {
        Path disk = tmp.resolve("disk.qcow2");
        JhvProcess.runTool("qemu-img", "create", "-f", "qcow2", disk.toString(), "64M");
        Path sa = tmp.resolve("a.sock");
        Path sb = tmp.resolve("b.sock");
        JhvProcess jhv = JhvProcess.boot(WORKLOAD, "-m", "512", "-smp", "2",
                "-drive", "file=" + disk + ",format=qcow2,if=none,id=disk0",
                "-monitor", "unix:" + sa + ",server,nowait", "-monitor", "unix:" + sb + ",server,nowait");
        MonitorClient a = MonitorClient.connect(sa, BOOT);
        MonitorClient b = MonitorClient.connect(sb, BOOT);
        jhv.awaitLine("DIRTY cpu=0 pass=1", BOOT);
        return new Vm(jhv, a, b, disk);
    }

    /** Polls "info status" on {@code mon} until it shows {@code state}; false if the operation ended first. */
    static boolean awaitStatus(MonitorClient mon, String state, int tries) throws IOException {
        for (int i = 0; i < tries; i++) {
            if (mon.command("info status").contains(state)) {
                return true;
            }
        }
        return false;
    }

    /** Sends {@code command} until its answer contains {@code text}; false if it never did. */
    static boolean awaitAnswer(MonitorClient mon, String command, String text, int tries) throws IOException {
        for (int i = 0; i < tries; i++) {
            if (mon.command(command).contains(text)) {
                return true;
            }
        }
        return false;
    }

    static List<Path> crashLogs() throws IOException {
        try (Stream<Path> s = Files.list(JhvProcess.ROOT)) {
            return s.filter(p -> p.getFileName().toString().startsWith("hs_err")).toList();
        }
    }

    @Test
    void quitWhileAnotherMonitorSavesFinishesTheSaveThenExitsZero() throws Exception {
        List<Path> before = crashLogs();
        Path disk;
        try (Vm vm = boot()) {
            disk = vm.disk();
            vm.a().send("savevm during-quit");
            assertThat(awaitStatus(vm.b(), "save-vm", 2000)).as("savevm seen under way").isTrue();
            vm.b().send("quit");
            assertThat(vm.jhv().awaitExit(BOOT)).isZero();
            assertThat(vm.jhv().stderr()).noneMatch(l -> l.contains("SIGSEGV") || l.contains("fatal error"));
        }
        assertThat(crashLogs()).isEqualTo(before);
        // the save was finished, not torn: the snapshot is there and the image is clean
        assertThat(JhvProcess.runTool("qemu-img", "snapshot", "-l", disk.toString())).contains("during-quit");
        assertThat(JhvProcess.runTool("qemu-img", "check", disk.toString())).contains("No errors were found");
    }

    /** SIGTERM takes quit's path: the save under way is finished, not torn, and jhv says why it ends. */
    @Test
    void sigtermDuringASaveFinishesItThenExits() throws Exception {
        Path disk;
        try (Vm vm = boot()) {
            disk = vm.disk();
            vm.a().send("savevm during-term");
            assertThat(awaitStatus(vm.b(), "save-vm", 2000)).as("savevm seen under way").isTrue();
            new ProcessBuilder("kill", "-TERM", Long.toString(vm.jhv().pid())).start().waitFor();
            assertThat(vm.jhv().awaitExit(BOOT)).isZero();
            assertThat(vm.jhv().stderr()).contains("jhv: terminating on signal 15");
        }
        assertThat(JhvProcess.runTool("qemu-img", "snapshot", "-l", disk.toString())).contains("during-term");
        assertThat(JhvProcess.runTool("qemu-img", "check", disk.toString())).contains("No errors were found");
    }

    @Test
    void quitWhileAnotherMonitorLoadsExitsZero() throws Exception {
        List<Path> before = crashLogs();
        try (Vm vm = boot()) {
            assertThat(vm.a().command("savevm s1")).isBlank();
            vm.a().send("loadvm s1");
            assertThat(awaitStatus(vm.b(), "restore-vm", 2000)).as("loadvm seen under way").isTrue();
            vm.b().send("quit");
            assertThat(vm.jhv().awaitExit(BOOT)).isZero();
        }
        assertThat(crashLogs()).isEqualTo(before);
    }

    @Test
    void quitDuringAMigrationCancelsItAndExitsZero() throws Exception {
        Path fifo = tmp.resolve("stream.fifo");
        JhvProcess.runTool("mkfifo", fifo.toString());
        try (Vm vm = boot()) {
            // nobody reads the FIFO: the migration stays in its first writes until cancelled
            vm.a().send("migrate \"exec:cat > " + fifo + "\"");
            assertThat(awaitAnswer(vm.b(), "info migrate", "Migration status: active", 2000)).isTrue();
            vm.b().send("quit");
            assertThat(vm.jhv().awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void stateOperationsDuringAMigrationAreRefusedAndTheRunStateComesBack() throws Exception {
        Path fifo = tmp.resolve("stream.fifo");
        Path saved = tmp.resolve("stream.bin");
        JhvProcess.runTool("mkfifo", fifo.toString());
        try (Vm vm = boot()) {
            // the guest dirties flat out: a generous downtime limit lets the migration end after its first pass
            assertThat(vm.a().command("migrate_set_parameter downtime-limit 600000")).isBlank();
            vm.a().send("migrate \"exec:cat > " + fifo + "\"");
            assertThat(awaitAnswer(vm.b(), "info migrate", "Migration status: active", 2000)).isTrue();
            assertThat(vm.b().command("savevm x")).contains("There's a migration process in progress");
            assertThat(vm.b().command("loadvm x")).contains("There's a migration process in progress");
            assertThat(vm.b().command("migrate file:" + tmp.resolve("other.bin")))
                    .contains("There's a migration process in progress");
            // a live migration: the guest runs on while its memory goes
            assertThat(vm.b().command("info status")).contains("VM status: running");
            // let the stream out (on a thread of its own: a FIFO's open and reads cannot be interrupted, and a
            // migration that never ended must fail this test, not hang it): the migration completes
            var copied = new java.util.concurrent.CompletableFuture<Long>();
            Thread.ofPlatform().daemon().start(() -> {
                try (InputStream in = Files.newInputStream(fifo)) {
                    copied.complete(Files.copy(in, saved));
                } catch (IOException e) {
                    copied.completeExceptionally(e);
                }
            });
            assertThat(copied.get(BOOT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isGreaterThan(256L << 20);
            assertThat(awaitStatus(vm.b(), "postmigrate", 2000)).isTrue();
            assertThat(vm.b().command("cont")).isBlank();
            assertThat(vm.b().command("info status")).contains("VM status: running");
            // and the machine still saves: nothing was left half-done
            assertThat(vm.b().command("savevm after")).isBlank();
            assertThat(vm.b().command("info status")).contains("VM status: running");
            int at = vm.jhv().lineCount();
            vm.jhv().send("verify\r");
            vm.jhv().awaitLine(Pattern.compile("VERIFY OK pages=65536"), at, BOOT);
            vm.b().send("quit");
            assertThat(vm.jhv().awaitExit(BOOT)).isZero();
        }
        assertThat(Files.size(saved)).isGreaterThan(256L << 20);
    }

    @Test
    void aDamagedSnapshotIsRefusedAndTheGuestRunsOnUntouched() throws Exception {
        Path stream = tmp.resolve("state.bin");
        Path disk;
        try (Vm vm = boot()) {
            disk = vm.disk();
            // the same stopped state twice: once as a file, once as the snapshot's vm-state
            assertThat(vm.a().command("stop")).isBlank();
            assertThat(vm.a().command("migrate file:" + stream)).isBlank();
            assertThat(vm.a().command("savevm s1")).isBlank();
            vm.a().send("quit");
            assertThat(vm.jhv().awaitExit(BOOT)).isZero();
        }
        flipInImage(disk, Files.readAllBytes(stream));
        Path sa = tmp.resolve("c.sock");
        try (JhvProcess jhv = JhvProcess.boot(WORKLOAD, "-m", "512", "-smp", "2",
                "-drive", "file=" + disk + ",format=qcow2,if=none,id=disk0",
                "-monitor", "unix:" + sa + ",server,nowait");
             MonitorClient mon = MonitorClient.connect(sa, BOOT)) {
            jhv.awaitLine("DIRTY cpu=0 pass=1", BOOT);
            String answer = mon.command("loadvm s1");
            assertThat(answer).contains("Error while loading snapshot 's1'").contains("is damaged")
                    .contains("nothing was loaded");
            assertThat(mon.command("info status")).contains("VM status: running");
            // the guest is the one that was running: its own memory checks out
            int at = jhv.lineCount();
            jhv.send("verify\r");
            jhv.awaitLine(Pattern.compile("VERIFY OK pages=65536"), at, BOOT);
            mon.send("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    /**
     * Flips one byte of a RAM page inside the snapshot's vm-state: found as a run of the stream's bytes (a page
     * in the middle of the stream) in the image file.
     */
    static void flipInImage(Path image, byte[] stream) throws IOException {
        byte[] img = Files.readAllBytes(image);
        List<Integer> candidates = new ArrayList<>();
        for (int at = stream.length / 2; at < stream.length - 64 && candidates.isEmpty(); at += 4096) {
            byte[] probe = java.util.Arrays.copyOfRange(stream, at, at + 64);
            if (isUniform(probe)) {
                continue;
            }
            int found = indexOf(img, probe);
            if (found >= 0) {
                candidates.add(found + 32);
            }
        }
        assertThat(candidates).as("a page of the saved state in the image").isNotEmpty();
        img[candidates.getFirst()] ^= 0x40;
        Files.write(image, img);
    }

    private static boolean isUniform(byte[] b) {
        for (byte x : b) {
            if (x != b[0]) {
                return false;
            }
        }
        return true;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
