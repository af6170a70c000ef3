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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.jhv.launcher.it.LiveMigrationIT.BOOT;
import static dev.jhv.launcher.it.LiveMigrationIT.WORKLOAD;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitMigration;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitStatus;
import static dev.jhv.launcher.it.LiveMigrationIT.verify;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Live migration between two hosts as far as the network can tell: the source jhv in namespace A, the destination
 * in namespace B, joined by a veth pair whose A end is shaped (tc) or cut (ip link set down) under the migration.
 */
@Tag("kvm")
class NetnsMigrationIT {
    static final int PORT = 4444;

    @TempDir
    Path tmp;

    private int n;

    @BeforeAll
    static void needKvmAndNamespaces() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        VethNamespaces.assumeAvailable();
    }

    record Vm(JhvProcess jhv, MonitorClient mon) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            mon.close();
            jhv.close();
        }
    }

    /** jhv in {@code netns}, its monitor on a unix socket (a path: reachable from every namespace). */
    Vm start(String netns, String... more) throws Exception {
        Path sock = tmp.resolve("mon" + (n++) + ".sock");
        List<String> args = new ArrayList<>(List.of("-m", "512", "-smp", "2", "-monitor",
                "unix:" + sock + ",server,nowait"));
        args.addAll(List.of(more));
        JhvProcess jhv = JhvProcess.bootIn(netns, WORKLOAD, args.toArray(String[]::new));
        return new Vm(jhv, MonitorClient.connect(sock, BOOT));
    }

    /** "transferred ram" of an info migrate answer, in kbytes (0 if absent). */
    static long transferredKib(String info) {
        Matcher m = Pattern.compile("transferred ram: (\\d+) kbytes").matcher(info);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    /** Polls info migrate until at least {@code kib} have gone (the migration still active); returns the answer. */
    static String awaitTransferred(MonitorClient mon, long kib) throws Exception {
        long deadline = System.nanoTime() + BOOT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            last = mon.command("info migrate");
            if (!last.contains("Migration status: active") && !last.contains("Migration status: setup")) {
                throw new AssertionError("migration no longer active before " + kib + " KiB went:\n" + last);
            }
            if (transferredKib(last) >= kib) {
                return last;
            }
        }
        throw new AssertionError("fewer than " + kib + " KiB sent; last:\n" + last);
    }

    /** Migrates src (in A) to a fresh destination in B; the destination carries on, the source is postmigrate. */
    private void migratesToB(Vm src, VethNamespaces net, int port) throws Exception {
        try (Vm dst = start(net.nsB, "-incoming", "tcp:0:" + port)) {
            assertThat(dst.mon().command("info status")).contains("paused (inmigrate)");
            long seq = SaveRestoreIT.lastHeartbeat(src.jhv().stdout());
            assertThat(src.mon().command("migrate -d tcp:" + VethNamespaces.ADDR_B + ":" + port)).isBlank();
            String done = awaitMigration(src.mon(), "completed", "failed");
            assertThat(done).contains("Migration status: completed");
            // as in QEMU, "completed" comes a moment before the run state leaves finish-migrate
            awaitStatus(src.mon(), "paused (postmigrate)");
            awaitStatus(dst.mon(), "VM status: running");
            Matcher hb = dst.jhv().awaitLine(Pattern.compile("HB cpu=0 seq=(\\d+)"), dst.jhv().lineCount(), BOOT);
            assertThat(Long.parseLong(hb.group(1))).isGreaterThan(seq);
            assertThat(dst.jhv().stdout()).noneMatch(l -> l.contains("JHV-GUEST-READY"));
            verify(dst.jhv());
            dst.mon().send("quit");
            assertThat(dst.jhv().awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void aDirtyingGuestMovesAcrossAShapedVethIntoAnotherNamespace() throws Exception {
        try (VethNamespaces net = VethNamespaces.create()) {
            String qdisc = net.shape(400, 2);
            assertThat(qdisc).containsAnyOf("netem", "tbf").contains("Mbit");
            try (Vm src = start(net.nsA)) {
                src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
                migratesToB(src, net, PORT);
                // the stream went through the shaped end of the pair, not around it
                assertThat(tcSentBytes(net)).isGreaterThan(64L << 20);
                src.mon().send("quit");
                assertThat(src.jhv().awaitExit(BOOT)).isZero();
            }
        }
    }

    /** Bytes A's qdisc has sent ("Sent N bytes" of tc -s). */
    private static long tcSentBytes(VethNamespaces net) throws Exception {
        Process p = new ProcessBuilder("tc", "-n", net.nsA, "-s", "qdisc", "show", "dev", net.vethA)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        Matcher m = Pattern.compile("Sent (\\d+) bytes").matcher(out);
        assertThat(m.find()).as("tc -s output: %s", out).isTrue();
        return Long.parseLong(m.group(1));
    }

    /**
     * The cable is cut while RAM is going: nothing fails on the source's side of TCP, the stream just stops; the
     * stall timeout notices, the source runs on with its memory intact, and once the link is back a second
     * migration to a fresh destination completes.
     */
    @Test
    void aLinkCutMidMigrationFailsOnTheStallAndTheSourceMigratesOnceItIsBack() throws Exception {
        try (VethNamespaces net = VethNamespaces.create()) {
            try (Vm src = start(net.nsA)) {
                src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
                assertThat(src.mon().command("migrate_set_parameter x-stall-timeout 2000")).isBlank();
                assertThat(src.mon().command("migrate_set_parameter max-bandwidth 4M")).isBlank();
                try (Vm dst = start(net.nsB, "-incoming", "tcp:0:" + PORT)) {
                    assertThat(src.mon().command("migrate -d tcp:" + VethNamespaces.ADDR_B + ":" + PORT)).isBlank();
                    // mid-way: past the first MiB, far from the 64 MiB the guest has dirtied
                    awaitTransferred(src.mon(), 1024);
                    net.link(false);
                    String failed = awaitMigration(src.mon(), "failed", "completed");
                    assertThat(failed).containsPattern("Migration status: failed \\(.*stalled.*\\)");
                    // as in QEMU, "failed" comes a moment before the source runs again
                    awaitStatus(src.mon(), "VM status: running");
                    verify(src.jhv());
                    // the destination never got a whole stream: it is still waiting, the guest never ran there
                    assertThat(dst.mon().command("info status")).contains("paused (inmigrate)");
                }
                net.link(true);
                assertThat(src.mon().command("migrate_set_parameter max-bandwidth 10G")).isBlank();
                migratesToB(src, net, PORT + 1);
            }
        }
    }
}
