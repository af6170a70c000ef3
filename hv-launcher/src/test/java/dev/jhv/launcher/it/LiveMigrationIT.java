package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Live migration between two real ./jhv processes on loopback while the guest keeps dirtying memory: the
 * destination carries on (heartbeats continue, its memory verifies), the source ends in postmigrate; and every way
 * it can go wrong (cancel, a killed or mismatched destination, a stalled link) leaves the source running with its
 * memory intact, ready for a second migration that completes.
 */
@Tag("kvm")
class LiveMigrationIT {
    static final Duration BOOT = Duration.ofSeconds(60);
    static final String WORKLOAD = "mode=dirty mib=64 rate=2000 hb=200";
    static final int PAGES = 64 * 256;

    @TempDir
    Path tmp;

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

    /** A jhv running testos with {@code workload}, its HMP monitor on {@code sock}; {@code args} before it. */
    static Vm boot(Path sock, String workload, List<String> args, String... more) throws Exception {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("-monitor", "unix:" + sock + ",server,nowait"));
        all.addAll(List.of(more));
        JhvProcess jhv = JhvProcess.boot(workload, all.toArray(String[]::new));
        return new Vm(jhv, MonitorClient.connect(sock, BOOT));
    }

    private int n;

    Vm start(String... more) throws Exception {
        Path sock = tmp.resolve("mon" + (n++) + ".sock");
        List<String> args = new ArrayList<>(List.of("-m", "512", "-smp", "2", "-monitor",
                "unix:" + sock + ",server,nowait"));
        args.addAll(List.of(more));
        JhvProcess jhv = JhvProcess.boot(WORKLOAD, args.toArray(String[]::new));
        return new Vm(jhv, MonitorClient.connect(sock, BOOT));
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Polls "info migrate" until its status is one of {@code states}; returns the whole answer. */
    static String awaitMigration(MonitorClient mon, String... states) throws Exception {
        long deadline = System.nanoTime() + BOOT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            last = mon.command("info migrate");
            for (String s : states) {
                if (last.contains("Migration status: " + s)) {
                    return last;
                }
            }
        }
        throw new AssertionError("migration never reached " + List.of(states) + "; last:\n" + last);
    }

    /** Polls info status until it shows {@code text} (bounded); returns the answer. */
    static String awaitStatus(MonitorClient mon, String text) throws Exception {
        long deadline = System.nanoTime() + BOOT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            last = mon.command("info status");
            if (last.contains(text)) {
                return last;
            }
        }
        throw new AssertionError("info status never showed '" + text + "'; last: " + last);
    }

    static void verify(JhvProcess jhv) throws Exception {
        int at = jhv.lineCount();
        jhv.send("verify\r");
        jhv.awaitLine(Pattern.compile("VERIFY OK pages=" + PAGES), at, BOOT);
    }

    /** The source completes into postmigrate; the destination goes on from where the source was. */
    private void migrates(Vm src, String uri, String... dstIncoming) throws Exception {
        try (Vm dst = start(dstIncoming)) {
            assertThat(dst.mon().command("info status")).contains("paused (inmigrate)");
            long seq = SaveRestoreIT.lastHeartbeat(src.jhv().stdout());
            assertThat(src.mon().command("migrate -d " + uri)).isBlank();
            String done = awaitMigration(src.mon(), "completed", "failed");
            assertThat(done).contains("Migration status: completed").contains("downtime:")
                    .containsPattern("transferred ram: \\d+ kbytes").contains("jhv downtime: pause");
            // as in QEMU, "completed" comes a moment before the run state leaves finish-migrate
            awaitStatus(src.mon(), "paused (postmigrate)");
            awaitStatus(dst.mon(), "VM status: running");
            // heartbeats carry on from the source's numbers: the guest moved, it did not reboot
            Matcher hb = dst.jhv().awaitLine("HB cpu=0 seq=(\\d+)", BOOT);
            assertThat(Long.parseLong(hb.group(1))).isGreaterThanOrEqualTo(seq);
            assertThat(dst.jhv().stdout()).noneMatch(l -> l.contains("JHV-GUEST-READY"));
            verify(dst.jhv());
            dst.mon().send("quit");
            assertThat(dst.jhv().awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void aDirtyingGuestMovesOverTcpAndTheDestinationCarriesOn() throws Exception {
        int port = freePort();
        try (Vm src = start()) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            migrates(src, "tcp:127.0.0.1:" + port, "-incoming", "tcp:0:" + port);
            src.mon().send("quit");
            assertThat(src.jhv().awaitExit(BOOT)).isZero();
        }
    }

    /**
     * The destination says what it is doing, as QEMU 7.2's does: listening (its socket address, no status), then
     * "active" while it loads in inmigrate, then "completed" and running.
     */
    @Test
    void theDestinationShowsItsLoadInInfoMigrateAndInfoStatus() throws Exception {
        int port = freePort();
        Path qmpSock = tmp.resolve("dst-qmp.sock");
        String listening = "[{\"port\":\"" + port + "\",\"ipv4\":true,\"host\":\"0.0.0.0\",\"type\":\"inet\"}]";
        try (Vm src = start(); Vm dst = start("-incoming", "tcp:0:" + port, "-qmp", "unix:" + qmpSock
                + ",server,nowait"); QmpClient qmp = QmpClient.connect(qmpSock, BOOT)) {
            assertThat(qmp.execute("qmp_capabilities").has("return")).isTrue();
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            String waiting = dst.mon().command("info migrate");
            assertThat(waiting).contains("socket address: [\n\ttcp:0.0.0.0:" + port + "\n]")
                    .doesNotContain("Migration status");
            assertThat(qmp.execute("query-migrate").get("return").toString())
                    .isEqualTo("{\"socket-address\":" + listening + "}");
            assertThat(dst.mon().command("info status")).contains("VM status: paused (inmigrate)");
            assertThat(src.mon().command("migrate_set_parameter max-bandwidth 4M")).isBlank();
            assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
            String loading = awaitMigration(dst.mon(), "active", "completed");
            assertThat(loading).contains("Migration status: active\ntotal time: 0 ms\n")
                    .contains("socket address: [\n\ttcp:0.0.0.0:" + port + "\n]")
                    .doesNotContain("transferred ram");
            assertThat(dst.mon().command("info status")).contains("VM status: paused (inmigrate)");
            assertThat(qmp.execute("query-status").at("/return/status").asText()).isEqualTo("inmigrate");
            assertThat(qmp.execute("query-migrate").get("return").toString())
                    .isEqualTo("{\"status\":\"active\",\"socket-address\":" + listening + "}");
            assertThat(src.mon().command("migrate_set_parameter max-bandwidth 10G")).isBlank();
            assertThat(awaitMigration(src.mon(), "completed", "failed")).contains("Migration status: completed");
            String done = awaitMigration(dst.mon(), "completed", "failed");
            assertThat(done).endsWith("Migration status: completed\ntotal time: 0 ms\n");
            assertThat(qmp.execute("query-migrate").get("return").toString()).isEqualTo("{\"status\":\"completed\"}");
            assertThat(dst.mon().command("info status")).contains("VM status: running");
            verify(dst.jhv());
        }
    }

    /**
     * Runs ./jhv with connected unix sockets at given descriptor numbers, as libvirt hands QEMU one: a python3
     * helper listens on (or connects to) each path, moves the connection to the descriptor and execs jhv.
     * {@code specs} are "listen:PATH:FD" or "connect:PATH:FD".
     */
    private JhvProcess startWithSockets(Path sock, List<String> specs, String... more) throws Exception {
        Path helper = tmp.resolve("fdexec.py");
        java.nio.file.Files.writeString(helper, """
                import os, socket, sys
                end = sys.argv.index('--')
                for spec in sys.argv[1:end]:
                    mode, path, fd = spec.split(':')
                    s = socket.socket(socket.AF_UNIX)
                    if mode == 'listen':
                        s.bind(path + '.tmp')
                        s.listen(1)
                        os.rename(path + '.tmp', path)  # connectable once it appears
                        c, _ = s.accept()
                        s.close()
                    else:
                        s.connect(path)
                        c = s
                    os.dup2(c.fileno(), int(fd), inheritable=True)
                    c.close()
                os.execvp(sys.argv[end + 1], sys.argv[end + 1:])
                """);
        List<String> cmd = new ArrayList<>(List.of("python3", helper.toString()));
        cmd.addAll(specs);
        cmd.add("--");
        cmd.add(JhvProcess.ROOT.resolve("jhv").toString());
        List<String> args = new ArrayList<>(List.of("-m", "512", "-smp", "2", "-monitor",
                "unix:" + sock + ",server,nowait"));
        args.addAll(List.of(more));
        cmd.addAll(JhvProcess.guestArgs(WORKLOAD, args.toArray(String[]::new)));
        return JhvProcess.wrapped(cmd); // a listening helper execs jhv once its source has connected
    }

    /** Waits (bounded) until a helper's socket path appears. */
    private static void awaitPath(Path p) throws InterruptedException {
        long deadline = System.nanoTime() + BOOT.toNanos();
        while (!java.nio.file.Files.exists(p)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(p + " never appeared");
            }
            Thread.onSpinWait();
            Thread.sleep(10); // a poll's period, bounded by the deadline: not a synchronisation
        }
    }

    /**
     * fd: over inherited sockets: the destination loads from its descriptor and answers on the same socket, so
     * a refusal (a destination with other memory) reaches the source with its reason, and an acknowledged
     * migration completes with the destination carrying on.
     */
    @Test
    void overInheritedSocketDescriptorsTheDestinationAnswersOnTheSameSocket() throws Exception {
        Path refusing = tmp.resolve("fd-small.sock");
        Path taking = tmp.resolve("fd-dst.sock");
        List<AutoCloseable> started = new ArrayList<>();
        try {
            Path[] mon = {tmp.resolve("fd-mon0.sock"), tmp.resolve("fd-mon1.sock"), tmp.resolve("fd-mon2.sock")};
            JhvProcess smallJhv = startWithSockets(mon[0], List.of("listen:" + refusing + ":10"), "-m", "256",
                    "-incoming", "fd:10");
            started.add(smallJhv);
            JhvProcess dstJhv = startWithSockets(mon[1], List.of("listen:" + taking + ":10"), "-incoming", "fd:10");
            started.add(dstJhv);
            awaitPath(refusing);
            awaitPath(taking);
            JhvProcess srcJhv = startWithSockets(mon[2], List.of("connect:" + refusing + ":10",
                    "connect:" + taking + ":11"));
            started.add(srcJhv);
            Vm small = new Vm(smallJhv, MonitorClient.connect(mon[0], BOOT));
            started.add(small);
            Vm dst = new Vm(dstJhv, MonitorClient.connect(mon[1], BOOT));
            started.add(dst);
            Vm src = new Vm(srcJhv, MonitorClient.connect(mon[2], BOOT));
            started.add(src);
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            assertThat(dst.mon().command("info status")).contains("paused (inmigrate)");
            // the refusal can only come back over the descriptor's socket
            assertThat(src.mon().command("migrate fd:10")).contains("migration failed")
                    .contains("the destination refused the stream").contains("does not match");
            assertThat(small.jhv().awaitExit(BOOT)).isEqualTo(1);
            awaitStatus(src.mon(), "VM status: running");
            verify(src.jhv());
            long seq = SaveRestoreIT.lastHeartbeat(src.jhv().stdout());
            assertThat(src.mon().command("migrate -d fd:11")).isBlank();
            assertThat(awaitMigration(src.mon(), "completed", "failed")).contains("Migration status: completed")
                    .contains("jhv downtime: pause");
            awaitStatus(src.mon(), "paused (postmigrate)");
            awaitStatus(dst.mon(), "VM status: running");
            Matcher hb = dst.jhv().awaitLine(Pattern.compile("HB cpu=0 seq=(\\d+)"), dst.jhv().lineCount(), BOOT);
            assertThat(Long.parseLong(hb.group(1))).isGreaterThan(seq);
            verify(dst.jhv());
            assertThat(src.mon().command("migrate fd:x")).contains("needs a descriptor number");
        } finally {
            for (AutoCloseable c : started.reversed()) {
                c.close();
            }
        }
    }

    @Test
    void overAUnixSocketWithPlainMigrateAndDeferredIncoming() throws Exception {
        Path sock = tmp.resolve("mig.sock");
        try (Vm src = start(); Vm dst = start("-incoming", "defer")) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            assertThat(dst.mon().command("migrate_incoming unix:" + sock)).isBlank();
            // plain migrate waits for the end, as QEMU's does
            assertThat(src.mon().command("migrate unix:" + sock)).isBlank();
            assertThat(src.mon().command("info migrate")).contains("Migration status: completed");
            assertThat(src.mon().command("info status")).contains("paused (postmigrate)");
            verify(dst.jhv());
            assertThat(dst.mon().command("migrate_incoming unix:" + sock)).contains("already been started");
        }
    }

    @Test
    void cancelDuringRamResumesTheSourceAndASecondMigrationCompletes() throws Exception {
        int port = freePort();
        try (Vm src = start()) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            try (Vm dst = start("-incoming", "tcp:127.0.0.1:" + port)) {
                // slow enough that the cancel lands while RAM is going
                assertThat(src.mon().command("migrate_set_parameter max-bandwidth 2M")).isBlank();
                assertThat(src.mon().command("info migrate_parameters")).contains("max-bandwidth: 2097152 bytes/second");
                assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
                awaitMigration(src.mon(), "active");
                assertThat(src.mon().command("savevm x")).contains("There's a migration process in progress");
                assertThat(src.mon().command("migrate_cancel")).isBlank();
                assertThat(awaitMigration(src.mon(), "cancelled", "failed")).contains("Migration status: cancelled");
                assertThat(src.mon().command("info status")).contains("VM status: running");
                verify(src.jhv());
                // the destination saw the stream end before it was whole: it fails and never ran the guest
                assertThat(dst.jhv().awaitExit(BOOT)).isEqualTo(1);
                assertThat(String.join("\n", dst.jhv().stderr())).contains("load of migration failed");
            }
            assertThat(src.mon().command("migrate_set_parameter max-bandwidth 10G")).isBlank();
            int second = freePort();
            migrates(src, "tcp:127.0.0.1:" + second, "-incoming", "tcp:0:" + second);
        }
    }

    /**
     * The guest resets itself (i8042 reset line) while its RAM is being sent. A reset rewrites RAM behind the dirty
     * log, so it waits for the machine's state lock, which the migration holds to its end (QEMU's reset likewise
     * waits for the lock its migration holds while completing); it never ends the source nor damages the stream.
     * Cancelled, the source then resets and boots afresh; completed, the destination verifies. A monitor's
     * system_reset meanwhile is refused with QEMU's words for a state operation under a migration.
     */
    @Test
    void aGuestResetDuringAMigrationWaitsForItsEndAndNeverBreaksIt() throws Exception {
        int port = freePort();
        try (Vm src = start()) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            assertThat(src.mon().command("migrate_set_parameter max-bandwidth 2M")).isBlank();
            try (Vm dst = start("-incoming", "tcp:127.0.0.1:" + port)) {
                assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
                awaitMigration(src.mon(), "active");
                assertThat(src.mon().command("system_reset")).contains("There's a migration process in progress");
                int at = src.jhv().lineCount();
                src.jhv().send("reset\r");
                src.jhv().awaitLine(Pattern.compile("RESETTING"), at, BOOT);
                assertThat(src.mon().command("info migrate")).contains("Migration status: active");
                assertThat(src.mon().command("migrate_cancel")).isBlank();
                assertThat(awaitMigration(src.mon(), "cancelled", "failed")).contains("Migration status: cancelled");
                // the reset the guest asked for comes now: it boots afresh
                src.jhv().awaitLine(Pattern.compile("JHV-GUEST-READY"), at, BOOT);
                awaitStatus(src.mon(), "VM status: running");
                assertThat(dst.jhv().awaitExit(BOOT)).isEqualTo(1);
                src.jhv().awaitLine(Pattern.compile("DIRTY cpu=1 pass=1"), at, BOOT);
            }
            verify(src.jhv());
            int second = freePort();
            try (Vm dst = start("-incoming", "tcp:127.0.0.1:" + second)) {
                assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + second)).isBlank();
                awaitMigration(src.mon(), "active");
                int at = src.jhv().lineCount();
                src.jhv().send("reset\r");
                src.jhv().awaitLine(Pattern.compile("RESETTING"), at, BOOT);
                assertThat(src.mon().command("migrate_set_parameter max-bandwidth 10G")).isBlank();
                assertThat(awaitMigration(src.mon(), "completed", "failed")).contains("Migration status: completed");
                awaitStatus(src.mon(), "paused (postmigrate)");
                awaitStatus(dst.mon(), "VM status: running");
                verify(dst.jhv());
                assertThat(src.jhv().isAlive()).isTrue();
                assertThat(src.mon().command("info status")).contains("paused (postmigrate)");
            }
        }
    }

    @Test
    void aKilledOrMismatchedDestinationLeavesTheSourceRunning() throws Exception {
        int port = freePort();
        try (Vm src = start()) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            try (Vm dst = start("-incoming", "tcp:0:" + port)) {
                assertThat(src.mon().command("migrate_set_parameter max-bandwidth 4M")).isBlank();
                assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
                awaitMigration(src.mon(), "active");
                new ProcessBuilder("kill", "-KILL", Long.toString(dst.jhv().pid())).start().waitFor();
                String failed = awaitMigration(src.mon(), "failed");
                assertThat(failed).containsPattern("Migration status: failed \\(.+\\)");
                awaitStatus(src.mon(), "VM status: running"); // as QEMU: failed, then the source runs
                verify(src.jhv());
            }
            assertThat(src.mon().command("migrate_set_parameter max-bandwidth 10G")).isBlank();
            // a destination with other memory, CPUs or CPU model refuses the configuration; the source hears why
            List<List<String>> others = List.of(List.of("-m", "256", "-smp", "2"), List.of("-m", "512", "-smp", "1"),
                    List.of("-m", "512", "-smp", "2", "-cpu", "kvm64"));
            for (List<String> config : others) {
                int other = freePort();
                Path sock = tmp.resolve("other" + other + ".sock");
                List<String> args = new ArrayList<>(config);
                args.addAll(List.of("-incoming", "tcp:0:" + other, "-monitor", "unix:" + sock + ",server,nowait"));
                try (JhvProcess mismatched = JhvProcess.boot(WORKLOAD, args.toArray(String[]::new))) {
                    MonitorClient.connect(sock, BOOT).close();
                    assertThat(src.mon().command("migrate tcp:127.0.0.1:" + other)).as("%s", config)
                            .contains("migration failed").contains("does not match");
                    assertThat(mismatched.awaitExit(BOOT)).isEqualTo(1);
                    assertThat(String.join("\n", mismatched.stderr())).contains("load of migration failed");
                }
                assertThat(src.mon().command("info status")).contains("VM status: running");
                verify(src.jhv());
            }
            int last = freePort();
            migrates(src, "tcp:127.0.0.1:" + last, "-incoming", "tcp:0:" + last);
        }
    }

    /**
     * A relay between source and destination flips one byte of the stream: the destination refuses what it cannot
     * trust, names the damage, and the source hears the reason and runs on with its memory intact.
     */
    @Test
    void aByteFlippedOnTheWireIsRefusedAndTheSourceRunsOn() throws Exception {
        int dstPort = freePort();
        try (Vm src = start(); Vm dst = start("-incoming", "tcp:127.0.0.1:" + dstPort);
             StreamRelay relay = StreamRelay.flipping(dstPort, 1 << 20)) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            String answer = src.mon().command("migrate tcp:127.0.0.1:" + relay.port());
            // a page's CRC or its section's checksum names the damage (a record header hit would be named too)
            assertThat(answer).contains("migration failed").contains("the destination refused the stream")
                    .containsPattern("stream (at )?offset").containsAnyOf("damaged", "RAM");
            assertThat(src.mon().command("info status")).contains("VM status: running");
            verify(src.jhv());
            assertThat(dst.jhv().awaitExit(BOOT)).isEqualTo(1);
            assertThat(String.join("\n", dst.jhv().stderr())).contains("load of migration failed");
        }
    }

    /**
     * All of RAM has gone and the guest is stopped for the device state, which a relay holds back: the source waits
     * in stage 3 (finish-migrate). migrate_cancel there resumes the guest with its memory intact, and a second
     * migration completes.
     */
    @Test
    void cancelWhileTheDeviceStateIsSentResumesTheSource() throws Exception {
        int dstPort = freePort();
        try (Vm src = start()) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            // the relay's hold, not a stalled link, is what the source waits on here
            assertThat(src.mon().command("migrate_set_parameter x-stall-timeout 3600000")).isBlank();
            try (Vm dst = start("-incoming", "tcp:127.0.0.1:" + dstPort);
                 StreamRelay relay = StreamRelay.holdingDeviceState(dstPort)) {
                assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + relay.port())).isBlank();
                long ram = relay.awaitHeld(BOOT.toSeconds());
                assertThat(ram).isGreaterThan(64L << 20); // the dirtied region went before the devices
                assertThat(awaitStatus(src.mon(), "paused (finish-migrate)"))
                        .contains("VM status: paused (finish-migrate)");
                assertThat(src.mon().command("info migrate")).contains("Migration status: active");
                assertThat(src.mon().command("migrate_cancel")).isBlank();
                assertThat(awaitMigration(src.mon(), "cancelled", "failed", "completed"))
                        .contains("Migration status: cancelled");
                assertThat(src.mon().command("info status")).contains("VM status: running");
                verify(src.jhv());
                relay.close();
                // the destination never saw the device state: it fails and never ran the guest
                assertThat(dst.jhv().awaitExit(BOOT)).isEqualTo(1);
                assertThat(dst.jhv().stdout()).noneMatch(l -> l.contains("VERIFY"));
            }
            int second = freePort();
            migrates(src, "tcp:127.0.0.1:" + second, "-incoming", "tcp:0:" + second);
        }
    }

    /**
     * migrate_cancel while the source is still connecting (a unix listener whose backlog is full: connect(2) blocks
     * until it accepts, which it never does): the cancel ends the connect, the source never stopped running.
     */
    @Test
    void cancelInSetupWhileConnectingEndsTheConnect() throws Exception {
        Path sock = tmp.resolve("full.sock");
        try (Vm src = start(); var full = java.nio.channels.ServerSocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            full.bind(java.net.UnixDomainSocketAddress.of(sock), 1);
            // a backlog of 1 holds two connections not yet accepted; the next connect waits
            List<java.nio.channels.SocketChannel> queued = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                queued.add(java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(sock)));
            }
            try {
                src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
                assertThat(src.mon().command("migrate -d unix:" + sock)).isBlank();
                assertThat(src.mon().command("info migrate")).contains("Migration status: setup");
                assertThat(src.mon().command("migrate_cancel")).isBlank();
                assertThat(awaitMigration(src.mon(), "cancelled", "failed")).contains("Migration status: cancelled");
                assertThat(src.mon().command("info status")).contains("VM status: running");
                verify(src.jhv());
            } finally {
                for (var c : queued) {
                    c.close();
                }
            }
            int second = freePort();
            migrates(src, "tcp:127.0.0.1:" + second, "-incoming", "tcp:0:" + second);
        }
    }

    /** A destination that stops reading (SIGSTOP: the link is up, nothing moves) is detected within the timeout. */
    @Test
    void aStalledLinkFailsWithinTheStallTimeout() throws Exception {
        int port = freePort();
        try (Vm src = start(); Vm dst = start("-incoming", "tcp:0:" + port)) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            assertThat(src.mon().command("migrate_set_parameter x-stall-timeout 1000")).isBlank();
            assertThat(src.mon().command("migrate_set_parameter max-bandwidth 8M")).isBlank();
            new ProcessBuilder("kill", "-STOP", Long.toString(dst.jhv().pid())).start().waitFor();
            try {
                assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
                String failed = awaitMigration(src.mon(), "failed");
                assertThat(failed).contains("stalled");
                awaitStatus(src.mon(), "VM status: running");
                verify(src.jhv());
            } finally {
                new ProcessBuilder("kill", "-KILL", Long.toString(dst.jhv().pid())).start().waitFor();
            }
        }
    }

    @Test
    void aPortInUseIsRefusedAtStart() throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            int port = taken.getLocalPort();
            try (JhvProcess jhv = JhvProcess.boot(WORKLOAD, "-m", "128", "-incoming", "tcp:0:" + port)) {
                assertThat(jhv.awaitExit(BOOT)).isEqualTo(1);
                assertThat(jhv.stderr()).containsExactly("jhv: -incoming tcp:0:" + port
                        + ": Failed to bind socket: Address already in use");
            }
        }
    }

    @Test
    void parametersAndCapabilitiesAsQemuShowsThem() throws Exception {
        try (Vm vm = start()) {
            String params = vm.mon().command("info migrate_parameters");
            assertThat(params).contains("max-bandwidth: 134217728 bytes/second").contains("downtime-limit: 300 ms")
                    .contains("xbzrle-cache-size: 67108864 bytes").contains("multifd-channels: 2");
            assertThat(vm.mon().command("migrate_set_speed 1g")).isBlank();
            assertThat(vm.mon().command("migrate_set_downtime 0.5")).isBlank();
            params = vm.mon().command("info migrate_parameters");
            assertThat(params).contains("max-bandwidth: 1073741824 bytes/second").contains("downtime-limit: 500 ms");
            assertThat(vm.mon().command("migrate_set_parameter nosuch 1")).contains("Invalid parameter 'nosuch'");
            assertThat(vm.mon().command("info migrate_capabilities")).contains("xbzrle: off").contains("events: off");
            assertThat(vm.mon().command("migrate_set_capability events on")).isBlank();
            assertThat(vm.mon().command("info migrate_capabilities")).contains("events: on");
            assertThat(vm.mon().command("migrate_set_capability rdma-pin-all on")).contains("not supported");
            assertThat(vm.mon().command("migrate nosuch:thing")).contains("unknown migration protocol");
            assertThat(vm.mon().command("migrate tcp:127.0.0.1:1")).contains("Connection refused");
            assertThat(vm.mon().command("info status")).contains("VM status: running");
        }
    }
}
