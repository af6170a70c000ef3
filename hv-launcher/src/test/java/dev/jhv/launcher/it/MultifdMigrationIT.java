package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;

import static dev.jhv.launcher.it.LiveMigrationIT.BOOT;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitMigration;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitStatus;
import static dev.jhv.launcher.it.LiveMigrationIT.freePort;
import static dev.jhv.launcher.it.LiveMigrationIT.verify;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * multifd between two real ./jhv processes while the guest dirties memory: RAM over 4 extra connections (tcp and
 * unix) lands whole (the destination verifies it), info migrate counts the channels' bytes, and a destination
 * killed in the middle, or one without the capability, leaves the source running.
 */
@Tag("kvm")
class MultifdMigrationIT {
    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    private int n;

    LiveMigrationIT.Vm start(String... more) throws Exception {
        return boot(tmp.resolve("mon" + (n++) + ".sock"), more);
    }

    /** The dirtying test guest with 512 MiB and 2 CPUs, its HMP monitor on {@code sock}. */
    static LiveMigrationIT.Vm boot(Path sock, String... more) throws Exception {
        return LiveMigrationIT.boot(sock, LiveMigrationIT.WORKLOAD, List.of("-m", "512", "-smp", "2"), more);
    }

    /** Runs each monitor command on a side and expects no answer (QEMU's HMP says nothing on success). */
    static void commands(MonitorClient mon, String... commands) throws Exception {
        for (String c : commands) {
            assertThat(mon.command(c)).as(c).isBlank();
        }
    }

    /**
     * Migrates {@code src} to a new destination (started with {@code dstArgs}, set up with {@code dstCommands}),
     * which must carry on with the guest's memory whole; returns the source's final info migrate.
     */
    static String migrates(LiveMigrationIT.Vm src, LiveMigrationIT.Vm dst, String uri, String... dstCommands)
            throws Exception {
        commands(dst.mon(), dstCommands);
        long seq = SaveRestoreIT.lastHeartbeat(src.jhv().stdout());
        commands(src.mon(), "migrate -d " + uri);
        String done = awaitMigration(src.mon(), "completed", "failed");
        assertThat(done).as(() -> "source: " + src.jhv().stderr() + "\ndestination: " + stderrOnceEnded(dst.jhv()))
                .contains("Migration status: completed");
        awaitStatus(src.mon(), "paused (postmigrate)");
        awaitStatus(dst.mon(), "VM status: running");
        Matcher hb = dst.jhv().awaitLine("HB cpu=0 seq=(\\d+)", BOOT);
        assertThat(Long.parseLong(hb.group(1))).isGreaterThanOrEqualTo(seq);
        verify(dst.jhv());
        return done;
    }

    /** What a process wrote to stderr once it has ended (bounded: a destination may take a moment to exit). */
    static java.util.List<String> stderrOnceEnded(JhvProcess p) {
        try {
            p.awaitExit(java.time.Duration.ofSeconds(10));
        } catch (InterruptedException | RuntimeException e) {
            // what it wrote so far
        }
        return p.stderr();
    }

    static long kbytes(String info, String line) {
        Matcher m = java.util.regex.Pattern.compile(line + ": (\\d+) kbytes").matcher(info);
        assertThat(m.find()).as(line + " in\n" + info).isTrue();
        return Long.parseLong(m.group(1));
    }

    /**
     * One source: a destination without the capability (unix) refuses, a destination killed in the middle (tcp)
     * fails the migration, and each time the source runs on; then 4 channels over tcp carry the guest whole.
     */
    @Test
    void fourChannelsCarryADirtyingGuestAndBrokenDestinationsLeaveTheSourceRunning() throws Exception {
        Path sock = tmp.resolve("mig.sock");
        try (var src = start()) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            commands(src.mon(), "migrate_set_capability multifd on", "migrate_set_parameter multifd-channels 4",
                    "migrate_set_parameter max-bandwidth 8M");
            assertThat(src.mon().command("info migrate_capabilities")).contains("multifd: on");
            try (var plain = start("-incoming", "unix:" + sock)) {
                // the destination takes one connection only: the first channel finds nobody listening
                // (which channel depends on how many the kernel queued before the destination closed its listener)
                assertThat(src.mon().command("migrate unix:" + sock)).contains("migration failed")
                        .containsPattern("multifd channel \\d: Failed to connect to '" + sock + "'");
                awaitStatus(src.mon(), "VM status: running");
                assertThat(plain.jhv().awaitExit(BOOT)).isEqualTo(1);
            }
            verify(src.jhv());

            int port = freePort();
            try (var dst = start("-incoming", "tcp:0:" + port)) {
                commands(dst.mon(), "migrate_set_capability multifd on");
                commands(src.mon(), "migrate -d tcp:127.0.0.1:" + port);
                awaitMigration(src.mon(), "active");
                new ProcessBuilder("kill", "-KILL", Long.toString(dst.jhv().pid())).start().waitFor();
                String failed = awaitMigration(src.mon(), "failed");
                assertThat(failed).containsPattern("Migration status: failed \\(.+\\)");
                awaitStatus(src.mon(), "VM status: running");
                verify(src.jhv());
            }

            commands(src.mon(), "migrate_set_parameter max-bandwidth 10G");
            port = freePort();
            try (var dst = start("-incoming", "tcp:0:" + port)) {
                String done = migrates(src, dst, "tcp:127.0.0.1:" + port, "migrate_set_capability multifd on");
                // QEMU counts the channels' bytes in transferred ram and shows them as multifd bytes
                long multifd = kbytes(done, "multifd bytes");
                assertThat(multifd).isGreaterThan(64 * 1024 / 2);
                assertThat(kbytes(done, "transferred ram")).isGreaterThan(multifd);
            }
        }
    }
}
