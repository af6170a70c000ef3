package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Static migration to a file and back, the way QEMU users do it: stop, migrate exec:/file:, -incoming. */
@Tag("kvm")
class SaveRestoreIT {
    static final Duration BOOT = Duration.ofSeconds(60);
    static final String WORKLOAD = "mode=dirty mib=32 hb=200";

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    static String[] args(String... extra) {
        List<String> a = new ArrayList<>(List.of("-m", "256"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** Runs the workload, stops it, migrates it to {@code uri}; returns the last heartbeat of CPU 0. */
    long saveRunningGuest(int cpus, String uri) throws Exception {
        Path sock = tmp.resolve("src.sock");
        try (JhvProcess src = JhvProcess.boot(WORKLOAD, args("-smp", "" + cpus,
                "-monitor", "unix:" + sock + ",server,nowait"));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            src.awaitLine("JHV-GUEST-READY cpus=" + cpus, BOOT);
            src.awaitLine("HB cpu=0 seq=2\\b", BOOT);
            src.awaitLine("DIRTY cpu=" + (cpus - 1) + " pass=", BOOT);
            mon.command("stop");
            long last = lastHeartbeat(src.stdout());
            assertThat(mon.command("migrate " + uri)).isBlank();
            assertThat(mon.command("info migrate")).contains("Migration status: completed");
            assertThat(mon.command("info status")).contains("VM status: paused (postmigrate)");
            mon.send("quit");
            assertThat(src.awaitExit(BOOT)).isZero();
            return last;
        }
    }

    static long lastHeartbeat(List<String> lines) {
        long last = -1;
        Pattern hb = Pattern.compile("HB cpu=0 seq=(\\d+)");
        for (String l : lines) {
            Matcher m = hb.matcher(l);
            if (m.find()) {
                last = Long.parseLong(m.group(1));
            }
        }
        return last;
    }

    /** The destination carries on: heartbeats without a gap, memory consistent, console and timers alive. */
    void restoreAndVerify(int cpus, String incoming) throws Exception {
        try (JhvProcess dst = JhvProcess.boot(WORKLOAD, args("-smp", "" + cpus, "-incoming", incoming))) {
            Matcher first = dst.awaitLine("HB cpu=0 seq=(\\d+)", BOOT);
            long seq = Long.parseLong(first.group(1));
            assertThat(dst.stdout()).noneMatch(l -> l.contains("JHV-GUEST-READY"));
            dst.awaitLine(Pattern.compile("HB cpu=0 seq=" + (seq + 2) + "\\b"), 0, BOOT);
            int at = dst.lineCount();
            dst.send("verify\r");
            dst.awaitLine(Pattern.compile("VERIFY OK pages=8192"), at, BOOT);
            dst.send("poweroff\r");
            assertThat(dst.awaitExit(BOOT)).isZero();
            heartbeatsFollowed(seq);
        }
    }

    private long sourceLast;

    private void heartbeatsFollowed(long firstOnDestination) {
        assertThat(firstOnDestination).as("first heartbeat after the load continues the source's count")
                .isEqualTo(sourceLast + 1);
    }

    @ParameterizedTest(name = "-smp {0}")
    @ValueSource(ints = {1, 2})
    void execMigrationToAFileAndBack(int cpus) throws Exception {
        Path file = tmp.resolve("vm.bin");
        sourceLast = saveRunningGuest(cpus, "\"exec:cat > " + file + "\"");
        assertThat(Files.size(file)).isPositive();
        restoreAndVerify(cpus, "exec:cat " + file);
    }

    @Test
    void fileMigrationAndDashSWaitsForCont() throws Exception {
        Path file = tmp.resolve("vm.bin");
        sourceLast = saveRunningGuest(2, "file:" + file);
        Path sock = tmp.resolve("dst.sock");
        try (JhvProcess dst = JhvProcess.boot(WORKLOAD, args("-smp", "2", "-S", "-incoming", "file:" + file,
                "-monitor", "unix:" + sock + ",server,nowait"));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            String status = mon.command("info status");
            long deadline = System.nanoTime() + BOOT.toNanos();
            while (status.contains("inmigrate") && System.nanoTime() < deadline) {
                status = mon.command("info status");
            }
            assertThat(status).contains("VM status: paused");
            assertThat(dst.stdout()).noneMatch(l -> l.contains("HB cpu="));
            mon.command("cont");
            Matcher first = dst.awaitLine("HB cpu=0 seq=(\\d+)", BOOT);
            heartbeatsFollowed(Long.parseLong(first.group(1)));
            dst.send("verify\r");
            dst.awaitLine("VERIFY OK", BOOT);
            mon.send("quit");
            assertThat(dst.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void damagedStreamsAndUnlikeDestinationsAreRefused() throws Exception {
        Path file = tmp.resolve("vm.bin");
        sourceLast = saveRunningGuest(2, "file:" + file);
        long size = Files.size(file);

        Path truncated = tmp.resolve("truncated.bin");
        Files.write(truncated, java.util.Arrays.copyOf(Files.readAllBytes(file), (int) (size / 2)));
        assertRefused(truncated, List.of("-smp", "2"), "load of migration failed", "ram");

        Path flipped = tmp.resolve("flipped.bin");
        Files.copy(file, flipped);
        try (RandomAccessFile f = new RandomAccessFile(flipped.toFile(), "rw")) {
            long at = size / 2; // inside the RAM section
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x40);
        }
        // the page the byte is in is named: its block and guest-physical offset
        assertRefused(flipped, List.of("-smp", "2"), "load of migration failed", "section 'ram'",
                "of block 'pc.ram' is damaged");

        // a device field: the section's checksum fails, and the field checksums in the description name the field
        Matcher serial = Pattern.compile("FULL 'serial' instance 0 version \\d+ at offset (\\d+)")
                .matcher(JhvProcess.runTool(JhvProcess.ROOT.resolve("jhv-analyze-migration").toString(), file.toString()));
        assertThat(serial.find()).isTrue();
        Path badDevice = tmp.resolve("bad-device.bin");
        Files.copy(file, badDevice);
        try (RandomAccessFile f = new RandomAccessFile(badDevice.toFile(), "rw")) {
            long at = Long.parseLong(serial.group(1)) + 1 + 4 + 1 + "serial".length() + 4 + 4; // the first field
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x01);
        }
        assertRefused(badDevice, List.of("-smp", "2"), "load of migration failed", "'serial/");

        assertRefused(file, List.of("-smp", "1"), "does not match", "vCPUs: stream 2, destination 1");
        assertRefused(file, List.of("-smp", "2", "-m", "512"), "does not match", "memory size");
    }

    @Test
    void whileTheStreamLoadsNothingTouchesTheStateAndContStartsItOnceLoaded() throws Exception {
        Path file = tmp.resolve("vm.bin");
        saveRunningGuest(1, "file:" + file);
        Path fifo = tmp.resolve("stream.fifo");
        JhvProcess.runTool("mkfifo", fifo.toString());
        Path sock = tmp.resolve("dst.sock");
        // the stream comes through a FIFO this test fills: until then the destination is in inmigrate
        try (JhvProcess dst = JhvProcess.boot(WORKLOAD, args("-S", "-incoming", "exec:cat " + fifo,
                "-monitor", "unix:" + sock + ",server,nowait"));
             MonitorClient mon = MonitorClient.connect(sock, BOOT)) {
            assertThat(mon.command("info status")).contains("VM status: paused (inmigrate)");
            String refused = "Guest is waiting for an incoming migration";
            assertThat(mon.command("migrate file:" + tmp.resolve("other.bin"))).contains(refused);
            assertThat(mon.command("savevm early")).contains(refused);
            assertThat(mon.command("loadvm early")).contains(refused);
            assertThat(mon.command("system_reset")).contains(refused);
            assertThat(mon.command("system_powerdown")).contains(refused);
            // as QEMU: cont while loading means "run once loaded", despite -S
            assertThat(mon.command("cont")).isBlank();
            try (var toJhv = Files.newOutputStream(fifo)) { // opening a FIFO for writing: replacing would unlink it
                Files.copy(file, toJhv);
            }
            dst.awaitLine("HB cpu=0 seq=", BOOT);
            assertThat(mon.command("info status")).contains("VM status: running");
            assertThat(tmp.resolve("other.bin")).doesNotExist();
        }
    }

    @Test
    void anIncomingCommandThatFailsIsTheReasonGiven() throws Exception {
        try (JhvProcess dst = JhvProcess.boot(WORKLOAD, args("-incoming", "exec:exit 7"))) {
            assertThat(dst.awaitExit(BOOT)).isEqualTo(1);
            assertThat(String.join("\n", dst.stderr())).contains("load of migration failed: the exec: command "
                    + "exited with status 7; migration stream at offset 0: stream ends");
        }
    }

    @Test
    void aMonitorThatFailsToOpenStopsALoadAlreadyUnderWay() throws Exception {
        // the load begins while the monitors open; this one cannot, so jhv must end the load (its command never
        // writes) and close the machine under it without crashing, waiting for the command, or leaving it behind
        Path badSocket = tmp.resolve("no/such/dir/m.sock");
        Path childPid = tmp.resolve("child.pid");
        try (JhvProcess dst = JhvProcess.boot(WORKLOAD, args("-incoming",
                "exec:sleep 600 & echo $! > " + childPid + "; wait",
                "-monitor", "unix:" + badSocket + ",server,nowait"))) {
            assertThat(dst.awaitExit(BOOT)).isEqualTo(1);
            assertThat(dst.stderr()).containsExactly("jhv: -monitor unix:" + badSocket
                    + ",server=on: Failed to bind socket to " + badSocket + ": No such file or directory");
        }
        if (Files.exists(childPid)) {
            var child = ProcessHandle.of(Long.parseLong(Files.readString(childPid).strip()));
            // ended by jhv: a command still running would hold the pipe (and jhv's stderr) open for ten minutes
            child.ifPresent(p -> assertThat(p.onExit().orTimeout(10, java.util.concurrent.TimeUnit.SECONDS)
                    .handle((h, e) -> e == null).join()).as("the exec: command's child ended").isTrue());
        }
    }

    private void assertRefused(Path stream, List<String> extra, String... messages) throws Exception {
        List<String> a = new ArrayList<>(extra);
        a.addAll(List.of("-incoming", "file:" + stream));
        try (JhvProcess dst = JhvProcess.boot(WORKLOAD, args(a.toArray(String[]::new)))) {
            assertThat(dst.awaitExit(BOOT)).isEqualTo(1);
            String err = String.join("\n", dst.stderr());
            for (String m : messages) {
                assertThat(err).contains(m);
            }
            assertThat(dst.stdout()).noneMatch(l -> l.contains("HB cpu="));
        }
    }
}
