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
import java.util.regex.Pattern;

import static dev.jhv.launcher.it.LiveMigrationIT.BOOT;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitMigration;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitStatus;
import static dev.jhv.launcher.it.LiveMigrationIT.freePort;
import static dev.jhv.launcher.it.LiveMigrationIT.verify;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * XBZRLE between two real ./jhv processes: testos rewrites only 8 words of each page after its first pass, so every
 * page re-sent goes as a short encoding against the version sent before; the destination applies it to the page it
 * holds and its memory verifies.
 */
@Tag("kvm")
class XbzrleMigrationIT {
    /** One CPU writing 20000 pages/s (80 MB/s) over a 64 MiB region, 8 words of a page per rewrite. */
    static final String WORKLOAD = "mode=dirty mib=64 words=8 rate=20000 hb=200";
    /** A line once the guest is past its first, whole-page pass (lines come at most once a second). */
    static final String REWRITING = "DIRTY cpu=0 pass=([2-9]|\\d\\d+)";

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    private int n;

    LiveMigrationIT.Vm start(String... more) throws Exception {
        Path sock = tmp.resolve("mon" + (n++) + ".sock");
        List<String> args = new ArrayList<>(List.of("-m", "512", "-smp", "1", "-monitor",
                "unix:" + sock + ",server,nowait"));
        args.addAll(List.of(more));
        JhvProcess jhv = JhvProcess.boot(WORKLOAD, args.toArray(String[]::new));
        return new LiveMigrationIT.Vm(jhv, MonitorClient.connect(sock, BOOT));
    }

    static long figure(String info, String regex) {
        Matcher m = Pattern.compile(regex).matcher(info);
        assertThat(m.find()).as("'%s' in:%n%s", regex, info).isTrue();
        return Long.parseLong(m.group(1));
    }

    /** Migrates to a fresh destination (with the given monitor commands run on it first) and checks it carries on. */
    private String migrates(LiveMigrationIT.Vm src, String... dstCommands) throws Exception {
        int port = freePort();
        try (LiveMigrationIT.Vm dst = start("-incoming", "tcp:0:" + port)) {
            for (String c : dstCommands) {
                assertThat(dst.mon().command(c)).isBlank();
            }
            assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
            String done = awaitMigration(src.mon(), "completed", "failed");
            assertThat(done).contains("Migration status: completed");
            awaitStatus(dst.mon(), "VM status: running");
            verify(dst.jhv());
            dst.mon().send("quit");
            assertThat(dst.jhv().awaitExit(BOOT)).isZero();
            return done;
        }
    }

    @Test
    void rewrittenPagesGoAsEncodingsAndTheDestinationVerifies() throws Exception {
        Path qmpSock = tmp.resolve("src-qmp.sock");
        try (LiveMigrationIT.Vm src = start("-qmp", "unix:" + qmpSock + ",server,nowait");
             QmpClient qmp = QmpClient.connect(qmpSock, BOOT)) {
            assertThat(qmp.execute("qmp_capabilities").has("return")).isTrue();
            src.jhv().awaitLine(REWRITING, BOOT);
            assertThat(src.mon().command("migrate_set_capability xbzrle on")).isBlank();
            assertThat(src.mon().command("info migrate_capabilities")).contains("xbzrle: on");
            assertThat(src.mon().command("migrate_set_cache_size 1000"))
                    .contains("Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size");
            assertThat(src.mon().command("migrate_set_cache_size 128M")).isBlank();
            String done = migrates(src, "migrate_set_capability xbzrle on");
            long pages = figure(done, "xbzrle pages: (\\d+) pages");
            long xbzrleKb = figure(done, "xbzrle transferred: (\\d+) kbytes");
            long transferredKb = figure(done, "transferred ram: (\\d+) kbytes");
            long normalKb = figure(done, "normal bytes: (\\d+) kbytes");
            // QEMU 7.2's block, in its place after the RAM figures
            assertThat(done).containsPattern("downtime ram: \\d+ kbytes\ncache size: 134217728 bytes\n"
                    + "xbzrle transferred: \\d+ kbytes\nxbzrle pages: \\d+ pages\nxbzrle cache miss: \\d+ pages\n"
                    + "xbzrle cache miss rate: \\d+\\.\\d\\d\nxbzrle encoding rate: \\d+\\.\\d\\d\n"
                    + "xbzrle overflow: \\d+\n");
            assertThat(pages).isPositive();
            // each encoded page is the header and 8 words, not 4 KiB
            assertThat(xbzrleKb * 1024).isLessThan(pages * 4096 / 10);
            // every page counted as normal would cost a whole page without XBZRLE: the wire carried less
            assertThat(transferredKb).isLessThan(normalKb);
            var x = qmp.execute("query-migrate").at("/return/xbzrle-cache");
            assertThat(x.get("cache-size").asLong()).isEqualTo(128L << 20);
            assertThat(x.get("pages").asLong()).isEqualTo(pages);
            assertThat(x.fieldNames()).toIterable().containsExactly("cache-size", "bytes", "pages", "cache-miss",
                    "cache-miss-rate", "encoding-rate", "overflow");
        }
    }

    /**
     * A cancel while XBZRLE passes go on resumes the source with its memory intact; then, as in QEMU (whose
     * destination decodes XBZRLE pages whatever its own capability says), a destination without the capability
     * takes an XBZRLE stream.
     */
    @Test
    void cancelResumesTheSourceAndADestinationWithoutTheCapabilityStillLoads() throws Exception {
        try (LiveMigrationIT.Vm src = start()) {
            src.jhv().awaitLine(REWRITING, BOOT);
            assertThat(src.mon().command("migrate_set_capability xbzrle on")).isBlank();
            int port = freePort();
            try (LiveMigrationIT.Vm dst = start("-incoming", "tcp:127.0.0.1:" + port)) {
                // a limit nothing fits while the guest writes: the passes go on until the cancel
                assertThat(src.mon().command("migrate_set_parameter downtime-limit 0")).isBlank();
                assertThat(src.mon().command("migrate -d tcp:127.0.0.1:" + port)).isBlank();
                long deadline = System.nanoTime() + BOOT.toNanos();
                String info = "";
                while (System.nanoTime() < deadline && !Pattern.compile("xbzrle pages: [1-9]").matcher(info).find()) {
                    info = src.mon().command("info migrate");
                }
                assertThat(info).contains("Migration status: active").containsPattern("xbzrle pages: [1-9]");
                assertThat(src.mon().command("migrate_cancel")).isBlank();
                assertThat(awaitMigration(src.mon(), "cancelled", "failed")).contains("Migration status: cancelled");
                assertThat(src.mon().command("info status")).contains("VM status: running");
                verify(src.jhv());
                assertThat(dst.jhv().awaitExit(BOOT)).isEqualTo(1);
            }
            assertThat(src.mon().command("migrate_set_parameter downtime-limit 300")).isBlank();
            String done = migrates(src);
            assertThat(figure(done, "xbzrle pages: (\\d+) pages")).isPositive();
        }
    }
}
