package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.jhv.launcher.it.LiveMigrationIT.BOOT;
import static dev.jhv.launcher.it.LiveMigrationIT.WORKLOAD;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitMigration;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitStatus;
import static dev.jhv.launcher.it.LiveMigrationIT.freePort;
import static dev.jhv.launcher.it.LiveMigrationIT.verify;
import static dev.jhv.launcher.it.NetnsMigrationIT.awaitTransferred;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One source through round after round of failed migrations (a cancel, a destination killed with SIGKILL, a link
 * that goes silent mid-stream, a byte flipped on the wire): every step is bounded, none hangs, and after each the
 * source runs with its memory intact; at the end it still migrates.
 */
@Tag("kvm")
@Tag("slow")
class MigrationFailureLoopIT {
    /** Rounds of the four failures: each costs a fresh destination per failure (about 40 s a round here). */
    static final int ROUNDS = 2;

    @TempDir
    Path tmp;

    private int n;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    record Vm(JhvProcess jhv, MonitorClient mon) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            mon.close();
            jhv.close();
        }
    }

    Vm start(String... more) throws Exception {
        Path sock = tmp.resolve("mon" + (n++) + ".sock");
        List<String> args = new ArrayList<>(List.of("-m", "512", "-smp", "2", "-monitor",
                "unix:" + sock + ",server,nowait"));
        args.addAll(List.of(more));
        JhvProcess jhv = JhvProcess.boot(WORKLOAD, args.toArray(String[]::new));
        return new Vm(jhv, MonitorClient.connect(sock, BOOT));
    }

    enum Failure { CANCEL, KILLED_DESTINATION, SILENT_LINK, FLIPPED_BYTE }

    @Test
    void theSourceSurvivesRoundsOfFailedMigrations() throws Exception {
        try (Vm src = start()) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            assertThat(src.mon().command("migrate_set_parameter x-stall-timeout 2000")).isBlank();
            for (int round = 0; round < ROUNDS; round++) {
                for (Failure f : Failure.values()) {
                    String info = fail(src, f);
                    assertThat(info).as("round %d, %s", round, f).contains(switch (f) {
                        case CANCEL -> "Migration status: cancelled";
                        case KILLED_DESTINATION -> "Migration status: failed (";
                        case SILENT_LINK -> "stalled";
                        case FLIPPED_BYTE -> "the destination refused the stream";
                    });
                    awaitStatus(src.mon(), "VM status: running");
                }
                verify(src.jhv());
            }
            assertThat(src.mon().command("migrate_set_parameter max-bandwidth 10G")).isBlank();
            int port = freePort();
            try (Vm dst = start("-incoming", "tcp:0:" + port)) {
                assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
                assertThat(awaitMigration(src.mon(), "completed", "failed")).contains("Migration status: completed");
                awaitStatus(dst.mon(), "VM status: running");
                verify(dst.jhv());
            }
        }
    }

    /** One failed migration to a fresh destination; returns the source's info migrate at its end. */
    private String fail(Vm src, Failure f) throws Exception {
        int port = freePort();
        try (Vm dst = start("-incoming", "tcp:127.0.0.1:" + port)) {
            switch (f) {
                case CANCEL, KILLED_DESTINATION -> {
                    assertThat(src.mon().command("migrate_set_parameter max-bandwidth 4M")).isBlank();
                    assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
                    awaitTransferred(src.mon(), 256);
                    if (f == Failure.CANCEL) {
                        assertThat(src.mon().command("migrate_cancel")).isBlank();
                    } else {
                        new ProcessBuilder("kill", "-KILL", Long.toString(dst.jhv().pid())).start().waitFor();
                    }
                    String end = awaitMigration(src.mon(), "cancelled", "failed", "completed");
                    assertThat(dst.jhv().awaitExit(BOOT)).isNotZero();
                    return end;
                }
                case SILENT_LINK, FLIPPED_BYTE -> {
                    assertThat(src.mon().command("migrate_set_parameter max-bandwidth 10G")).isBlank();
                    try (StreamRelay relay = f == Failure.SILENT_LINK ? StreamRelay.cuttingAfter(port, 2 << 20)
                            : StreamRelay.flipping(port, 1 << 20)) {
                        assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + relay.port())).isBlank();
                        return awaitMigration(src.mon(), "failed", "completed", "cancelled");
                    }
                }
                default -> throw new AssertionError(f);
            }
        }
    }
}
