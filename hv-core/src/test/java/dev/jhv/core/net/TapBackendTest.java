package dev.jhv.core.net;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.jhv.core.net.TestFrames.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real tap device: the backend opens it in the root namespace, the test moves it into a namespace of its own
 * (an open tap fd keeps working after the move), and the namespace's host side pings the test's guest and
 * exchanges a UDP datagram with it.
 */
class TapBackendTest {
    private static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
    private static final int GUEST = ip(10, 77, 0, 2);
    private static final String PY_UDP = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(3)
            s.sendto(b'ping over tap', ('10.77.0.2', 7))
            data, peer = s.recvfrom(256)
            sys.stdout.write(data.decode() + ' from ' + peer[0])
            """;

    @BeforeAll
    static void needsRootAndTun() {
        String missing = NetNamespace.missing();
        assumeTrue(missing == null, () -> "tap test skipped: " + missing);
    }

    private static String tapName() {
        return "jhvtap" + (ProcessHandle.current().pid() % 100000);
    }

    @Test
    void theHostSidePingsTheGuestAndGetsItsUdpEcho() throws Exception {
        String ifname = tapName();
        try (var tap = TapBackend.open(new NetdevConfig.Tap("t0", ifname, Boolean.TRUE));
             var ns = NetNamespace.create("jhvtap")) {
            assertThat(tap.vnetHeaderLength()).isEqualTo(12);
            assertThat(tap.info()).isEqualTo("t0: index=0,type=tap,ifname=" + ifname + ",script=no,downscript=no");
            tap.setOffloads(true, true, true, false, false);
            var guest = new TestFrames.Guest(tap, MAC, GUEST);
            tap.start(guest);
            NetNamespace.check("ip", "link", "set", ifname, "netns", ns.name);
            ns.exec("ip", "addr", "add", "10.77.0.1/24", "dev", ifname);
            ns.exec("ip", "link", "set", ifname, "up");

            ns.exec("ping", "-c1", "-W2", "10.77.0.2");
            assertThat(guest.await(f -> f.proto() == TestFrames.IP_ICMP, 1)).as("the echo request").isNotNull();
            assertThat(ns.exec("python3", "-c", PY_UDP)).isEqualTo("ping over tap from 10.77.0.2");
        }
    }

    @Test
    void aTapSomeoneElseHoldsIsBusy() {
        String ifname = tapName() + "b";
        try (var first = TapBackend.open(new NetdevConfig.Tap("t0", ifname, null))) {
            assertThatThrownBy(() -> TapBackend.open(new NetdevConfig.Tap("t1", ifname, null)))
                    .isInstanceOf(NetBackendException.class)
                    .hasMessage("could not configure /dev/net/tun (" + ifname + "): Device or resource busy");
        }
    }

    @Test
    void withoutVnetHeaderFramesArePlain() {
        try (var tap = TapBackend.open(new NetdevConfig.Tap("t0", null, Boolean.FALSE))) {
            assertThat(tap.vnetHeaderLength()).isZero();
            assertThat(tap.ifname()).startsWith("tap");
        }
    }
}
