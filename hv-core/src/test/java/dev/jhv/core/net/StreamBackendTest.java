package dev.jhv.core.net;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static dev.jhv.core.net.TestFrames.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The stream netdev's framing against a socket of the test's, and DHCP through a real passt. */
class StreamBackendTest {
    private static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x58};

    @TempDir
    Path dir;

    private static byte[] readFully(SocketChannel c, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                throw new IOException("closed after " + b.position() + " bytes");
            }
        }
        return b.array();
    }

    @Test
    void framesCarryABigEndianLengthBothWays() throws Exception {
        Path sock = dir.resolve("s.sock");
        try (var server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            try (var stream = StreamBackend.open(new NetdevConfig.Stream("s0", UnixDomainSocketAddress.of(sock),
                    false)); var peer = server.accept()) {
                var guest = new TestFrames.Guest(stream, MAC, ip(10, 0, 0, 2));
                stream.start(guest);
                assertThat(stream.info()).isEqualTo("s0: index=0,type=stream,");

                byte[] frame = TestFrames.ethernet(TestFrames.BROADCAST, MAC, 0x88b5, new byte[50]);
                assertThat(guest.send(frame)).isTrue();
                assertThat(ByteBuffer.wrap(readFully(peer, 4)).getInt()).isEqualTo(64);
                assertThat(readFully(peer, 64)).isEqualTo(frame);

                // two frames in one write, the second split across two: both arrive whole and in order
                byte[] a = TestFrames.ethernet(MAC, MAC, 0x88b5, new byte[] {1, 2, 3});
                byte[] b = TestFrames.ethernet(MAC, MAC, 0x88b6, new byte[100]);
                ByteBuffer w = ByteBuffer.allocate(8 + a.length + b.length)
                        .putInt(a.length).put(a).putInt(b.length).put(b).flip();
                peer.write(w.slice(0, 4 + a.length + 10));
                peer.write(w.slice(4 + a.length + 10, w.limit() - (4 + a.length + 10)));
                assertThat(guest.frames.poll(5, TimeUnit.SECONDS).bytes()).isEqualTo(a);
                assertThat(guest.frames.poll(5, TimeUnit.SECONDS).bytes()).isEqualTo(b);
            }
        }
    }

    @Test
    void asServerItTakesAPeerAndHoldsARefusedFrameUntilResumed() throws Exception {
        Path sock = dir.resolve("srv.sock");
        try (var stream = StreamBackend.open(new NetdevConfig.Stream("s0", UnixDomainSocketAddress.of(sock), true))) {
            var refusing = new java.util.concurrent.atomic.AtomicBoolean(true);
            var got = new java.util.concurrent.LinkedBlockingQueue<byte[]>();
            stream.start(new NetBackend.Receiver() {
                @Override
                public boolean receive(java.lang.foreign.MemorySegment frame) {
                    if (refusing.getAndSet(false)) {
                        got.add(new byte[0]);     // marks the refusal
                        return false;
                    }
                    got.add(frame.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                    return true;
                }

                @Override
                public void writable() {
                }
            });
            try (var client = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
                byte[] a = TestFrames.ethernet(MAC, MAC, 0x88b5, new byte[] {7});
                byte[] b = TestFrames.ethernet(MAC, MAC, 0x88b5, new byte[] {8});
                client.write(ByteBuffer.allocate(8 + a.length + b.length).putInt(a.length).put(a)
                        .putInt(b.length).put(b).flip());
                assertThat(got.poll(5, TimeUnit.SECONDS)).as("the refused delivery").isEmpty();
                assertThat(got.poll(200, TimeUnit.MILLISECONDS)).as("nothing while refused").isNull();
                stream.resumeReceive();
                assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(a);
                assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(b);
            }
        }
        assertThat(sock).doesNotExist();
    }

    @Test
    void aSocketNobodyListensOnIsOneClearError() {
        Path sock = dir.resolve("nobody.sock");
        assertThatThrownBy(() -> StreamBackend.open(new NetdevConfig.Stream("s0", UnixDomainSocketAddress.of(sock),
                false)))
                .isInstanceOf(NetBackendException.class)
                .hasMessageStartingWith("can't connect to unix socket " + sock + ": ");
    }

    @Test
    void passtAnswersDhcpThroughTheStream() throws Exception {
        String missing = NetNamespace.missing();
        assumeTrue(missing == null, () -> "passt test skipped: " + missing);
        Path passt = Path.of("/usr/bin/passt");
        assumeTrue(Files.isExecutable(passt), "passt is not installed (apt-get install passt)");
        // passt copies its addresses from the namespace's default route: a veth pair of the test's own, both
        // ends in the namespace (this kernel has no dummy links)
        try (var ns = NetNamespace.create("jhvpasst")) {
            ns.exec("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1");
            ns.exec("ip", "addr", "add", "10.78.0.5/24", "dev", "v0");
            ns.exec("ip", "link", "set", "v0", "up");
            ns.exec("ip", "link", "set", "v1", "up");
            ns.exec("ip", "route", "add", "default", "via", "10.78.0.1");
            // passt drops to nobody before it binds its socket: give it a directory it may write
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
            Path run = Files.createDirectory(dir.resolve("run"));
            Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxrwxrwx"));
            Path sock = run.resolve("passt.sock");
            Process p = new ProcessBuilder("ip", "netns", "exec", ns.name, passt.toString(), "-f", "-q", "-s",
                    sock.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("passt.log").toFile())
                    .start();
            try {
                StreamBackend stream = connectWithin(sock, p, 10);
                try (stream) {
                    var guest = new TestFrames.Guest(stream, MAC, 0);
                    stream.start(guest);
                    int xid = 0x5eed;
                    guest.send(TestFrames.dhcpDiscover(MAC, xid));
                    var offer = guest.await(f -> TestFrames.DhcpReply.parse(f, xid) != null, 5);
                    assertThat(offer).as("passt's DHCP reply").isNotNull();
                    var reply = TestFrames.DhcpReply.parse(offer, xid);
                    assertThat(reply.type()).as("DHCPOFFER").isEqualTo(2);
                    assertThat(reply.yiaddr()).isEqualTo(ip(10, 78, 0, 5));
                }
            } finally {
                p.destroy();
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
    }

    /** Connects once passt's socket answers (it appears a moment after start-up), or fails after a bound. */
    private StreamBackend connectWithin(Path sock, Process p, int seconds) throws IOException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        var cfg = new NetdevConfig.Stream("s0", UnixDomainSocketAddress.of(sock), false);
        while (true) {
            try {
                return StreamBackend.open(cfg);
            } catch (NetBackendException e) {
                if (!p.isAlive() || System.nanoTime() > end) {
                    throw new AssertionError("passt did not listen on " + sock + ": " + e.getMessage() + "; log: "
                            + Files.readString(dir.resolve("passt.log")));
                }
                Thread.onSpinWait();
            }
        }
    }
}
