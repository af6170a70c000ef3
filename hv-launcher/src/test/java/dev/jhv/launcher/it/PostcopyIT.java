package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.jhv.launcher.it.LiveMigrationIT.BOOT;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitMigration;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitStatus;
import static dev.jhv.launcher.it.LiveMigrationIT.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Postcopy between two real ./jhv processes: a guest that dirties 128 MiB flat out over a link too slow for
 * precopy moves with migrate_start_postcopy; the destination runs it at once on a userfaultfd, shows
 * postcopy-active and then completed, its heartbeats go on and its memory verifies. A link broken during postcopy
 * pauses both sides; migrate_recover and migrate -r finish it with nothing lost.
 */
@Tag("kvm")
class PostcopyIT {
    static final String WORKLOAD = "mode=dirty mib=128 rate=max hb=200";
    static final int PAGES = 128 * 256;

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    private int n;

    LiveMigrationIT.Vm start(String... more) throws Exception {
        return LiveMigrationIT.boot(tmp.resolve("mon" + (n++) + ".sock"), WORKLOAD, List.of("-m", "256", "-smp", "2"),
                more);
    }

    static void postcopyOn(MonitorClient mon) throws Exception {
        assertThat(mon.command("migrate_set_capability postcopy-ram on")).isBlank();
    }

    /** Precopy at 8 MiB/s cannot keep up with the writer; postcopy starts once it is under way. */
    static void startPostcopy(LiveMigrationIT.Vm src, String uri) throws Exception {
        assertThat(src.mon().command("migrate_set_parameter max-bandwidth 8M")).isBlank();
        assertThat(src.mon().command("migrate -d " + uri)).isBlank();
        awaitMigration(src.mon(), "active");
        assertThat(src.mon().command("migrate_start_postcopy")).isBlank();
    }

    static void verify(JhvProcess jhv) throws Exception {
        int at = jhv.lineCount();
        jhv.send("verify\r");
        jhv.awaitLine(Pattern.compile("VERIFY OK pages=" + PAGES), at, BOOT);
    }

    /** The destination runs on, from the source's heartbeat numbers, with every page as the source had it. */
    static void carriesOn(LiveMigrationIT.Vm src, LiveMigrationIT.Vm dst, long seq) throws Exception {
        String done = awaitMigration(src.mon(), "completed", "failed");
        assertThat(done).as("source stderr %s, destination stderr %s", src.jhv().stderr(), dst.jhv().stderr())
                .contains("Migration status: completed").containsPattern("postcopy ram: \\d+ kbytes");
        awaitStatus(src.mon(), "paused (postmigrate)");
        awaitMigration(dst.mon(), "completed");
        awaitStatus(dst.mon(), "VM status: running");
        Matcher hb = dst.jhv().awaitLine("HB cpu=0 seq=(\\d+)", BOOT);
        assertThat(Long.parseLong(hb.group(1))).isGreaterThanOrEqualTo(seq);
        verify(dst.jhv());
    }

    @Test
    void aGuestThatPrecopyCannotMoveRunsOnTheDestinationAtOnceAndCompletes() throws Exception {
        int port = freePort();
        try (var src = start(); var dst = start("-incoming", "tcp:0:" + port)) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            postcopyOn(src.mon());
            postcopyOn(dst.mon());
            long seq = SaveRestoreIT.lastHeartbeat(src.jhv().stdout());
            startPostcopy(src, "tcp:127.0.0.1:" + port);
            // the guest runs on the destination before its RAM has all come
            String during = awaitMigration(dst.mon(), "postcopy-active", "completed");
            assertThat(during).contains("postcopy blocktime:");
            carriesOn(src, dst, seq);
            assertThat(src.mon().command("info migrate")).containsPattern("postcopy request count: \\d+");
            assertThat(dst.mon().command("info migrate")).containsPattern("jhv postcopy faults: [1-9]\\d* pages");
        }
    }

    @Test
    void aLinkBrokenDuringPostcopyPausesBothSidesAndRecoveryLosesNothing() throws Exception {
        int port = freePort();
        int recoverPort = freePort();
        try (var src = start(); var dst = start("-incoming", "tcp:0:" + port);
             StreamRelay relay = StreamRelay.forwarding(port)) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            postcopyOn(src.mon());
            postcopyOn(dst.mon());
            // slow postcopy too, so that the link breaks with pages still to come
            assertThat(src.mon().command("migrate_set_parameter max-postcopy-bandwidth 4M")).isBlank();
            long seq = SaveRestoreIT.lastHeartbeat(src.jhv().stdout());
            startPostcopy(src, "tcp:127.0.0.1:" + relay.port());
            awaitMigration(dst.mon(), "postcopy-active");
            relay.breakLink();
            awaitMigration(src.mon(), "postcopy-paused");
            awaitMigration(dst.mon(), "postcopy-paused");
            // a cancel cannot take the guest back: the destination owns it
            assertThat(src.mon().command("migrate_cancel")).isBlank();
            awaitStatus(src.mon(), "finish-migrate");
            assertThat(dst.mon().command("migrate_recover tcp:127.0.0.1:" + recoverPort)).isBlank();
            // the rest as fast as the link goes: a resumed push reads the parameter anew
            assertThat(src.mon().command("migrate_set_parameter max-postcopy-bandwidth 0")).isBlank();
            assertThat(src.mon().command("migrate -r tcp:127.0.0.1:" + recoverPort)).isBlank();
            carriesOn(src, dst, seq);
        }
    }

    @Test
    void withXPostcopyAutoAMigrationThatCannotConvergeSwitchesByItself() throws Exception {
        int port = freePort();
        try (var src = start(); var dst = start("-incoming", "tcp:0:" + port)) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            postcopyOn(src.mon());
            postcopyOn(dst.mon());
            assertThat(src.mon().command("migrate_set_parameter x-postcopy-auto on")).isBlank();
            // a pass takes a few seconds at 64 MiB/s, in which the writer dirties far more than that
            assertThat(src.mon().command("migrate_set_parameter max-bandwidth 64M")).isBlank();
            long seq = SaveRestoreIT.lastHeartbeat(src.jhv().stdout());
            assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
            awaitMigration(dst.mon(), "postcopy-active", "completed");
            carriesOn(src, dst, seq);
        }
    }

    /** A destination without postcopy-ram refuses the switch before it runs anything: the source runs on. */
    @Test
    void aDestinationThatRefusesPostcopyLeavesTheSourceRunning() throws Exception {
        int port = freePort();
        try (var src = start(); var dst = start("-incoming", "tcp:0:" + port)) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            postcopyOn(src.mon());
            startPostcopy(src, "tcp:127.0.0.1:" + port);
            String failed = awaitMigration(src.mon(), "failed", "completed");
            assertThat(failed).contains("postcopy-ram is off on this destination");
            awaitStatus(src.mon(), "VM status: running");
            verify(src.jhv());
        }
    }

    @Test
    void startingPostcopyNeedsTheCapabilityAndAMigration() throws Exception {
        try (var src = start()) {
            assertThat(src.mon().command("migrate_start_postcopy"))
                    .contains("Enable postcopy with migrate_set_capability before the start of migration");
            postcopyOn(src.mon());
            assertThat(src.mon().command("migrate_start_postcopy"))
                    .contains("Postcopy must be started after migration has been started");
            assertThat(src.mon().command("migrate -r tcp:127.0.0.1:1"))
                    .contains("Cannot resume if there is no paused migration");
        }
    }
}
