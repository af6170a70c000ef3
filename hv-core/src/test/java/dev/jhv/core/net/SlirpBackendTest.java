package dev.jhv.core.net;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.jhv.core.net.TestFrames.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** libslirp for real: the test plays the guest (DHCP, then the UDP echo a hostfwd reaches). */
class SlirpBackendTest {
    private static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    private static final int GUEST = ip(10, 0, 2, 15);

    @BeforeAll
    static void needsLibslirp() {
        assumeTrue(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libslirp.so.0")),
                "libslirp0 is not installed (apt-get install libslirp0)");
    }

    private static int freeUdpPort() throws Exception {
        try (var s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static NetdevConfig.User withForward(int port) {
        var d = NetdevConfig.User.defaults("n0");
        var fwd = new NetdevConfig.HostForward(true, ip(127, 0, 0, 1), port, GUEST, 7,
                "udp:127.0.0.1:" + port + "-:7");
        return new NetdevConfig.User(d.id(), d.network(), d.prefix(), d.host(), d.dns(), d.dhcpStart(), false,
                List.of(fwd));
    }

    @Test
    void offersTheFirstDhcpAddressAndForwardsAHostUdpPortToTheGuest() throws Exception {
        int port = freeUdpPort();
        try (var slirp = SlirpBackend.open(withForward(port))) {
            var guest = new TestFrames.Guest(slirp, MAC, GUEST);
            slirp.start(guest);
            assertThat(slirp.info()).isEqualTo("n0: index=0,type=user,net=10.0.2.0,restrict=off");

            int xid = 0x1234abcd;
            assertThat(guest.send(TestFrames.dhcpDiscover(MAC, xid))).isTrue();
            var offer = guest.await(f -> TestFrames.DhcpReply.parse(f, xid) != null, 5);
            assertThat(offer).as("a DHCP reply from slirp").isNotNull();
            var reply = TestFrames.DhcpReply.parse(offer, xid);
            assertThat(reply.type()).as("DHCPOFFER").isEqualTo(2);
            assertThat(reply.yiaddr()).isEqualTo(GUEST);
            assertThat(offer.ipSrc()).isEqualTo(ip(10, 0, 2, 2));

            try (var host = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
                host.setSoTimeout(5000);
                byte[] msg = "hello through hostfwd".getBytes(StandardCharsets.US_ASCII);
                host.send(new DatagramPacket(msg, msg.length, InetAddress.getLoopbackAddress(), port));
                var atGuest = guest.await(f -> f.udp(7), 5);
                assertThat(atGuest).as("the forwarded datagram at the guest").isNotNull();
                assertThat(atGuest.payload()).isEqualTo(msg);
                var back = new DatagramPacket(new byte[256], 256);
                host.receive(back);
                assertThat(new String(back.getData(), 0, back.getLength(), StandardCharsets.US_ASCII))
                        .isEqualTo("hello through hostfwd");
            }
        }
    }

    @Test
    void aHostForwardOnAPortInUseIsOneClearError() throws Exception {
        try (var taken = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> SlirpBackend.open(withForward(port)))
                    .isInstanceOf(NetBackendException.class)
                    .hasMessage("Could not set up host forwarding rule 'udp:127.0.0.1:" + port + "-:7'");
        }
    }
}
