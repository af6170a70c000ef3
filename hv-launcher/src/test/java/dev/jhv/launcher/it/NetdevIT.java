package dev.jhv.launcher.it;

import dev.jhv.core.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** -netdev backends opened by ./jhv at start-up: info network, QEMU's no-peer warning, one line when one fails. */
@Tag("kvm")
class NetdevIT {
    static final Duration BOOT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    @Test
    void infoNetworkShowsEachNetdevAndTheWarningNamesThoseWithoutANic() throws Exception {
        Path sock = tmp.resolve("peer.sock");
        Path mon = tmp.resolve("mon.sock");
        try (var peer = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            peer.bind(UnixDomainSocketAddress.of(sock));
            try (JhvProcess jhv = JhvProcess.boot("mode=idle hb=200", "-m", "128",
                    "-netdev", "user,id=n0,net=10.1.2.0/24",
                    "-netdev", "stream,id=s0,addr.type=unix,addr.path=" + sock,
                    "-monitor", "unix:" + mon + ",server,nowait");
                 MonitorClient m = MonitorClient.connect(mon, BOOT)) {
                jhv.awaitLine("JHV-GUEST-READY", BOOT);
                assertThat(m.command("info network").lines()).containsExactly(
                        "n0: index=0,type=user,net=10.1.2.0,restrict=off",
                        "s0: index=0,type=stream,");
                assertThat(jhv.stderr()).contains("jhv: warning: netdev n0 has no peer",
                        "jhv: warning: netdev s0 has no peer");
            }
        }
    }

    @Test
    void aBackendThatCannotStartIsOneLine() throws Exception {
        Path sock = tmp.resolve("nobody.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-m", "128",
                "-netdev", "stream,id=s0,addr.type=unix,addr.path=" + sock)) {
            assertThat(jhv.awaitExit(BOOT)).isEqualTo(1);
            assertThat(jhv.stderr()).hasSize(1);
            assertThat(jhv.stderr().get(0)).startsWith("jhv: -netdev s0: can't connect to unix socket " + sock + ": ");
        }
        try (var taken = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            String rule = "udp:127.0.0.1:" + taken.getLocalPort() + "-:7";
            try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-m", "128", "-netdev", "user,id=n0,hostfwd=" + rule)) {
                assertThat(jhv.awaitExit(BOOT)).isEqualTo(1);
                assertThat(jhv.stderr()).containsExactly(
                        "jhv: -netdev n0: Could not set up host forwarding rule '" + rule + "'");
            }
        }
    }
}
