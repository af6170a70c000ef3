package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.jhv.launcher.it.LiveMigrationIT.Vm;

import static dev.jhv.launcher.it.LiveMigrationIT.awaitMigration;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitStatus;
import static dev.jhv.launcher.it.LiveMigrationIT.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * auto-converge between two real ./jhv processes: a 256 MiB flat-out writer over a link of 32 MiB/s, which plain
 * precopy never finishes, completes once the writing vCPU is throttled, and the destination verifies; the idle
 * vCPU keeps its heartbeat meanwhile (jhv throttles only the vCPUs that dirty); a cancel ends the throttle at once
 * and the writer gets its speed back.
 */
@Tag("kvm")
class AutoConvergeIT {
    static final Duration BOOT = LiveMigrationIT.BOOT;
    static final int PAGES = 256 * 256;
    static final Pattern THROTTLE = Pattern.compile("cpu throttle percentage: (\\d+)");

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    private int n;

    Vm start(String workload, String... more) throws Exception {
        Path sock = tmp.resolve("mon" + (n++) + ".sock");
        List<String> args = new ArrayList<>(List.of("-m", "512", "-smp", "2", "-monitor",
                "unix:" + sock + ",server,nowait"));
        args.addAll(List.of(more));
        JhvProcess jhv = JhvProcess.boot(workload, args.toArray(String[]::new));
        return new Vm(jhv, MonitorClient.connect(sock, BOOT));
    }

    /** Starts migrating {@code src} to {@code port} once the writer runs, with auto-converge and {@code more}. */
    static void migrate(Vm src, int port, String... more) throws Exception {
        src.jhv().awaitLine("DIRTY cpu=0 pass=2", BOOT);
        autoConverge(src.mon());
        for (String c : more) {
            assertThat(src.mon().command(c)).isBlank();
        }
        assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
    }

    /** auto-converge on, and a link (32 MiB/s) that the flat-out writer's 256 MiB outrun by far. */
    static void autoConverge(MonitorClient mon) throws Exception {
        assertThat(mon.command("migrate_set_capability auto-converge on")).isBlank();
        assertThat(mon.command("migrate_set_parameter max-bandwidth 32M")).isBlank();
    }

    /** Polls info migrate until it shows a throttle of at least {@code pct}; returns the answer. */
    static String awaitThrottle(MonitorClient mon, int pct) throws Exception {
        long deadline = System.nanoTime() + BOOT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            last = mon.command("info migrate");
            Matcher m = THROTTLE.matcher(last);
            if (m.find() && Integer.parseInt(m.group(1)) >= pct) {
                return last;
            }
            assertThat(last).doesNotContain("Migration status: completed").doesNotContain("failed");
        }
        throw new AssertionError("no throttle of " + pct + "% shown; last:\n" + last);
    }

    /**
     * CPU 0's dirtier passes per second, from its DIRTY lines (printed at most once a second): from the next line to
     * the first one 10 passes on (bounded).
     */
    static double passRate(JhvProcess jhv) throws InterruptedException {
        Pattern dirty = Pattern.compile("DIRTY cpu=0 pass=(\\d+)");
        Matcher first = jhv.awaitLine(dirty, jhv.lineCount(), BOOT);
        long t0 = System.nanoTime();
        long p0 = Long.parseLong(first.group(1));
        while (true) {
            Matcher m = jhv.awaitLine(dirty, jhv.lineCount(), BOOT);
            long p = Long.parseLong(m.group(1));
            if (p >= p0 + 10) {
                return (p - p0) / ((System.nanoTime() - t0) / 1e9);
            }
        }
    }

    static long count(List<String> lines, Pattern p, int from) {
        return lines.subList(from, lines.size()).stream().filter(l -> p.matcher(l).find()).count();
    }

    @Test
    void aFlatOutWriterConvergesWhileTheIdleCpusHeartbeatKeepsComing() throws Exception {
        int port = freePort();
        try (Vm src = start("mode=dirty mib=256 hb=100 cpus=0");
             Vm dst = start("mode=dirty mib=256 hb=100 cpus=0", "-incoming", "tcp:0:" + port)) {
            migrate(src, port);
            String throttled = awaitThrottle(src.mon(), 95);
            // only the writer is throttled: CPU 1 halts between heartbeats and keeps all of its time
            assertThat(throttled).containsPattern("jhv cpu throttle: cpu 0 \\d+% \\(ran \\d+%\\), cpu 1 0% ");
            // in the time CPU 1 beats 10 times, CPU 0 (same hb=, throttled to 95% or more: it runs 10 ms of every
            // 200 ms or longer) beats far fewer: counts, not times, so a loaded host slows both alike
            int at = src.jhv().lineCount();
            Pattern hb1 = Pattern.compile("HB cpu=1 seq=");
            for (int k = 0; k < 10; k++) {
                src.jhv().awaitLine(hb1, src.jhv().lineCount(), Duration.ofSeconds(10));
            }
            List<String> window = src.jhv().stdout();
            assertThat(THROTTLE.matcher(src.mon().command("info migrate")).results().map(r -> r.group(1)))
                    .as("the window lay within the throttling").singleElement()
                    .satisfies(pct -> assertThat(Integer.parseInt(pct)).isGreaterThanOrEqualTo(95));
            long beats1 = count(window, hb1, at);
            long beats0 = count(window, Pattern.compile("HB cpu=0 seq="), at);
            assertThat(beats1).as("CPU 1's heartbeats against throttled CPU 0's (%d)", beats0)
                    .isGreaterThanOrEqualTo(2 * beats0);
            String done = awaitMigration(src.mon(), "completed", "failed");
            assertThat(done).contains("Migration status: completed").doesNotContain("cpu throttle percentage");
            awaitStatus(dst.mon(), "VM status: running");
            int v = dst.jhv().lineCount();
            dst.jhv().send("verify\r");
            dst.jhv().awaitLine(Pattern.compile("VERIFY OK pages=" + PAGES), v, BOOT);
            dst.mon().send("quit");
            assertThat(dst.jhv().awaitExit(BOOT)).isZero();
            src.mon().send("quit");
            assertThat(src.jhv().awaitExit(BOOT)).isZero();
        }
    }

    /**
     * The throttle ends with the migration however it ends: a cancel (jhv's per-vCPU throttle), and a destination
     * killed in the middle (QEMU's one throttle for all vCPUs, also there). Each time the writer gets its speed back:
     * its pass rate, measured against its own rate before any migration (a throttle left at 90% or more would leave it
     * a tenth of that or less).
     */
    @Test
    void aCancelOrAKilledDestinationEndsTheThrottleAndTheWriterRecovers() throws Exception {
        int port = freePort();
        try (Vm src = start("mode=dirty mib=256 hb=100");
             Vm dst = start("mode=dirty mib=256 hb=100", "-incoming", "tcp:0:" + port)) {
            double before = passRate(src.jhv());
            migrate(src, port);
            awaitThrottle(src.mon(), 50);
            assertThat(src.mon().command("migrate_cancel")).isBlank();
            assertThat(awaitMigration(src.mon(), "cancelled")).doesNotContain("cpu throttle percentage");
            awaitStatus(src.mon(), "VM status: running");
            assertThat(passRate(src.jhv())).as("passes/s after the cancel, against %.1f before", before)
                    .isGreaterThan(before / 3);

            int port2 = freePort();
            try (Vm dst2 = start("mode=dirty mib=256 hb=100", "-incoming", "tcp:0:" + port2)) {
                migrate(src, port2, "migrate_set_parameter x-per-vcpu-throttle off",
                        "migrate_set_parameter cpu-throttle-initial 90", "migrate_set_parameter max-bandwidth 128M");
                String throttled = awaitThrottle(src.mon(), 90);
                assertThat(throttled).containsPattern("jhv cpu throttle: cpu 0 9\\d% \\(ran \\d+%\\), cpu 1 9\\d%");
                dst2.jhv().close(); // killed
                assertThat(awaitMigration(src.mon(), "failed")).doesNotContain("cpu throttle percentage");
            }
            awaitStatus(src.mon(), "VM status: running");
            assertThat(passRate(src.jhv())).as("passes/s after the failure, against %.1f before", before)
                    .isGreaterThan(before / 3);
            int v = src.jhv().lineCount();
            src.jhv().send("verify\r");
            src.jhv().awaitLine(Pattern.compile("VERIFY OK pages=" + PAGES), v, BOOT);
            src.mon().send("quit");
            assertThat(src.jhv().awaitExit(BOOT)).isZero();
        }
    }
}
