package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
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
        Path sock = tmp.resolve("mon" + (n++) + ".sock");
        List<String> args = new ArrayList<>(List.of("-m", "512", "-smp", "2", "-monitor",
                "unix:" + sock + ",server,nowait"));
        args.addAll(List.of(more));
        JhvProcess jhv = JhvProcess.boot(LiveMigrationIT.WORKLOAD, args.toArray(String[]::new));
        return new LiveMigrationIT.Vm(jhv, MonitorClient.connect(sock, BOOT));
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
        assertThat(done).contains("Migration status: completed");
        awaitStatus(src.mon(), "paused (postmigrate)");
        awaitStatus(dst.mon(), "VM status: running");
        Matcher hb = dst.jhv().awaitLine("HB cpu=0 seq=(\\d+)", BOOT);
        assertThat(Long.parseLong(hb.group(1))).isGreaterThanOrEqualTo(seq);
        verify(dst.jhv());
        return done;
    }

    static long kbytes(String info, String line) {
        Matcher m = java.util.regex.Pattern.compile(line + ": (\\d+) kbytes").matcher(info);
        assertThat(m.find()).as(line + " in\n" + info).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    void fourChannelsOverTcpCarryTheRamOfADirtyingGuest() throws Exception {
        int port = freePort();
        try (var src = start(); var dst = start("-incoming", "tcp:0:" + port)) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            commands(src.mon(), "migrate_set_capability multifd on", "migrate_set_parameter multifd-channels 4",
                    "migrate_set_parameter max-bandwidth 10G");
            assertThat(src.mon().command("info migrate_capabilities")).contains("multifd: on");
            String done = migrates(src, dst, "tcp:127.0.0.1:" + port, "migrate_set_capability multifd on");
            // QEMU counts the channels' bytes in transferred ram and shows them as multifd bytes
            long multifd = kbytes(done, "multifd bytes");
            assertThat(multifd).isGreaterThan(64 * 1024 / 2);
            assertThat(kbytes(done, "transferred ram")).isGreaterThan(multifd);
            assertThat(done).containsPattern("dirty sync count: [2-9]|dirty sync count: \\d\\d");
        }
    }

    @Test
    void overAUnixSocketAndADestinationWithoutTheCapabilityIsRefused() throws Exception {
        Path sock = tmp.resolve("mig.sock");
        try (var src = start()) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            commands(src.mon(), "migrate_set_capability multifd on", "migrate_set_parameter max-bandwidth 10G");
            try (var plain = start("-incoming", "unix:" + sock)) {
                // the destination takes one connection only: the first channel finds nobody listening
                assertThat(src.mon().command("migrate unix:" + sock)).contains("migration failed")
                        .contains("multifd channel 0");
                awaitStatus(src.mon(), "VM status: running");
                plain.jhv().close();
            }
            verify(src.jhv());
            try (var dst = start("-incoming", "unix:" + sock)) {
                String done = migrates(src, dst, "unix:" + sock, "migrate_set_capability multifd on");
                assertThat(kbytes(done, "multifd bytes")).isPositive();
            }
        }
    }

    @Test
    void aDestinationKilledDuringAMultifdMigrationLeavesTheSourceRunning() throws Exception {
        int port = freePort();
        try (var src = start()) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            commands(src.mon(), "migrate_set_capability multifd on", "migrate_set_parameter multifd-channels 4",
                    "migrate_set_parameter max-bandwidth 8M");
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
        }
    }
}
