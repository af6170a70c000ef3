package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.jhv.launcher.it.LiveMigrationIT.BOOT;
import static dev.jhv.launcher.it.LiveMigrationIT.awaitStatus;
import static dev.jhv.launcher.it.LiveMigrationIT.freePort;
import static dev.jhv.launcher.it.LiveMigrationIT.verify;
import static dev.jhv.launcher.it.MultifdMigrationIT.commands;
import static dev.jhv.launcher.it.MultifdMigrationIT.migrates;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Migration over TLS between two real ./jhv processes, with certificates openssl makes for the test: plain and with
 * multifd the guest lands whole; a source certificate from another CA, a wrong tls-hostname and unknown credentials
 * each fail with their reason while the source runs on and can migrate again.
 */
@Tag("kvm")
class TlsMigrationIT {
    @TempDir
    Path tmp;

    @BeforeAll
    static void needTools() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is not installed (scripts/install-deps)");
    }

    private int n;

    private LiveMigrationIT.Vm start(String... more) throws Exception {
        return MultifdMigrationIT.boot(tmp.resolve("mon" + (n++) + ".sock"), more);
    }

    private void openssl(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("openssl %s: %s", cmd, out).isZero();
    }

    /** A CA in {@code dir}: ca-cert.pem, ca-key.pem. */
    private Path ca(String name) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "ca-key.pem", "-out", "ca-cert.pem", "-days", "2", "-subj", "/CN=" + name);
        return dir;
    }

    /**
     * {@code who}-cert.pem and {@code who}-key.pem in {@code dir}, signed by the CA in {@code ca}, for localhost and
     * 127.0.0.1; an RSA key in PKCS#1 form ("RSA PRIVATE KEY", as older certtool writes) when {@code pkcs1}.
     */
    private void cert(Path ca, Path dir, String who, boolean pkcs1) throws Exception {
        Files.createDirectories(dir);
        Files.copy(ca.resolve("ca-cert.pem"), dir.resolve("ca-cert.pem"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        if (pkcs1) {
            openssl(dir, "genrsa", "-traditional", "-out", who + "-key.pem", "2048");
        } else {
            openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                    who + "-key.pem");
        }
        Files.writeString(dir.resolve("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        openssl(dir, "req", "-new", "-key", who + "-key.pem", "-out", who + ".csr", "-subj", "/CN=localhost");
        openssl(dir, "x509", "-req", "-in", who + ".csr", "-CA", ca.resolve("ca-cert.pem").toString(), "-CAkey",
                ca.resolve("ca-key.pem").toString(), "-CAcreateserial", "-out", who + "-cert.pem", "-days", "2",
                "-extfile", "ext.cnf");
    }

    private static String creds(Path dir, String endpoint) {
        return "tls-creds-x509,id=tls0,dir=" + dir + ",endpoint=" + endpoint;
    }

    /** A destination with server credentials, listening on {@code uri}, its tls-creds set. */
    private LiveMigrationIT.Vm destination(Path serverDir, String uri, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("-object", creds(serverDir, "server"), "-incoming", uri));
        args.addAll(List.of(more));
        var dst = start(args.toArray(String[]::new));
        commands(dst.mon(), "migrate_set_parameter tls-creds tls0");
        return dst;
    }

    /** A migration that fails on the source with {@code reason}, the source running on with its memory intact. */
    private static void failsWith(LiveMigrationIT.Vm src, LiveMigrationIT.Vm dst, String uri, String reason)
            throws Exception {
        assertThat(src.mon().command("migrate " + uri)).contains("migration failed").contains(reason);
        awaitStatus(src.mon(), "VM status: running");
        assertThat(dst.jhv().awaitExit(BOOT)).isEqualTo(1); // as QEMU's destination: a failed load ends it
        verify(src.jhv());
    }

    /**
     * One source: unknown credentials, a wrong tls-hostname and a certificate from another CA each fail with their
     * reason, the source running on; then TLS with 4 multifd channels over unix carries the guest, and the
     * destination, a source in turn, moves it on over tcp with TLS alone.
     */
    @Test
    void badCertificatesAndHostNamesFailWithTheirReasonAndTlsMigrationsCarryTheGuest() throws Exception {
        Path ca = ca("ca");
        Path server = tmp.resolve("server");
        cert(ca, server, "server", true);
        Path client = tmp.resolve("client");
        cert(ca, client, "client", false);
        Path rogue = tmp.resolve("rogue");
        cert(ca("otherca"), rogue, "client", false);
        Files.copy(ca.resolve("ca-cert.pem"), rogue.resolve("ca-cert.pem"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING); // trusts the right CA, is signed by another
        try (var src = start("-object", creds(client, "client"),
                "-object", creds(rogue, "client").replace("id=tls0", "id=rogue"))) {
            src.jhv().awaitLine("DIRTY cpu=1 pass=1", BOOT);
            commands(src.mon(), "migrate_set_parameter max-bandwidth 10G", "migrate_set_parameter tls-creds nosuch");
            assertThat(src.mon().command("migrate tcp:127.0.0.1:1")).contains("No TLS credentials with id 'nosuch'");

            int port = freePort();
            try (var dst = destination(server, "tcp:0:" + port)) {
                commands(src.mon(), "migrate_set_parameter tls-creds tls0",
                        "migrate_set_parameter tls-hostname otherhost");
                failsWith(src, dst, "tcp:127.0.0.1:" + port,
                        "TLS handshake failed: certificate for 'localhost', '127.0.0.1' does not match the host "
                                + "name 'otherhost'");
            }
            port = freePort();
            try (var dst = destination(server, "tcp:0:" + port)) {
                commands(src.mon(), "migrate_set_parameter tls-creds rogue",
                        "migrate_set_parameter tls-hostname localhost");
                failsWith(src, dst, "tcp:127.0.0.1:" + port,
                        "TLS handshake failed: the destination refused this side's certificate");
                assertThat(String.join("\n", dst.jhv().stderr())).contains("is not signed by the CA in");
            }
            Path sock = tmp.resolve("mig.sock");
            commands(src.mon(), "migrate_set_parameter tls-creds tls0", "migrate_set_capability multifd on",
                    "migrate_set_parameter multifd-channels 4");
            try (var dst = destination(server, "unix:" + sock, "-object",
                    creds(client, "client").replace("id=tls0", "id=tlsc"))) {
                String done = migrates(src, dst, "unix:" + sock, "migrate_set_capability multifd on");
                assertThat(MultifdMigrationIT.kbytes(done, "multifd bytes")).isPositive();
                port = freePort();
                try (var next = destination(server, "tcp:0:" + port)) {
                    commands(dst.mon(), "migrate_set_parameter max-bandwidth 10G", "migrate_set_capability multifd off",
                            "migrate_set_parameter tls-creds tlsc");
                    migrates(dst, next, "tcp:127.0.0.1:" + port);
                }
            }
        }
    }
}
