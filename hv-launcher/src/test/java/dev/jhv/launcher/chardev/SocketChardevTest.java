package dev.jhv.launcher.chardev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.machine.RunState;
import dev.jhv.launcher.LauncherException;
import dev.jhv.launcher.cli.ChardevSpec;
import dev.jhv.launcher.monitor.CommandTable;
import dev.jhv.launcher.monitor.Monitor;
import dev.jhv.launcher.testing.FakeMachine;
import dev.jhv.launcher.testing.Output;
import dev.jhv.launcher.testing.RecordingFrontend;
import dev.jhv.launcher.testing.SocketClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SocketChardevTest {
    @TempDir
    Path dir;

    static FakeMachine machine() {
        var m = new FakeMachine(new MachineConfig("sock", 128L << 20, MachineConfig.Smp.of(1), "qemu64", null, null,
                null, false, false, false), null);
        m.start();
        return m;
    }

    static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }

    @Test
    void monitorOverUnixSocket() throws Exception {
        Path path = dir.resolve("mon.sock");
        var dev = SocketChardev.open(new ChardevSpec.Unix(path, true, false), quiet());
        var machine = machine();
        new Monitor(dev, machine, CommandTable.standard());
        dev.start();
        try (var client = new SocketClient(UnixDomainSocketAddress.of(path))) {
            int at = client.received.await("jhv 0.1.0 monitor - type 'help' for more information\r\n(qemu) ");
            client.send("info status\r\n");
            at = client.received.await("VM status: running\r\n(qemu) ", at);
            client.send("stop\r\n");
            at = client.received.await("(qemu) ", at);
            assertThat(machine.runState()).isEqualTo(RunState.PAUSED);
            client.send("bogus\r\n");
            at = client.received.await("unknown command: 'bogus'\r\n(qemu) ", at);
            client.send("info status\r\n");
            client.received.await("VM status: paused\r\n(qemu) ", at);
        }
        dev.close();
        assertThat(path).as("socket file removed on close").doesNotExist();
    }

    @Test
    void monitorOverTcp() throws Exception {
        var dev = SocketChardev.open(new ChardevSpec.Tcp("127.0.0.1", 0, true, false, false), quiet());
        assertThat(dev.describe()).isEqualTo("tcp:127.0.0.1:0,server=on");
        new Monitor(dev, machine(), CommandTable.standard());
        dev.start();
        int port = ((InetSocketAddress) dev.localAddress()).getPort();
        try (var client = new SocketClient(new InetSocketAddress("127.0.0.1", port))) {
            int at = client.received.await("monitor - type 'help' for more information\r\n(qemu) ");
            client.send("info name\r\n");
            client.received.await("info name\r\nsock\r\n(qemu) ", at);
        }
        dev.close();
    }

    @Test
    void oneClientAtATimeTheNextWaitsItsTurn() throws Exception {
        Path path = dir.resolve("mon.sock");
        var dev = SocketChardev.open(new ChardevSpec.Unix(path, true, false), quiet());
        new Monitor(dev, machine(), CommandTable.standard());
        dev.start();
        var first = new SocketClient(UnixDomainSocketAddress.of(path));
        first.received.await("(qemu) ");
        try (var second = new SocketClient(UnixDomainSocketAddress.of(path))) {
            second.send("info kvm\r");
            first.send("info version\r");
            first.received.await("0.1.0\r\n(qemu) ");
            assertThat(second.received.text()).as("queued while the first is connected").isEmpty();
            first.close();
            int at = second.received.await("monitor - type 'help' for more information\r\n(qemu) ");
            // what the second client typed while waiting is read once it is served
            second.received.await("kvm support: enabled\r\n(qemu) ", at);
        }
        dev.close();
    }

    @Test
    void serverWithoutNowaitBlocksUntilAClientConnects() throws Exception {
        Path path = dir.resolve("wait.sock");
        var err = new Output();
        var opening = CompletableFuture.supplyAsync(
                () -> SocketChardev.open(new ChardevSpec.Unix(path, true, true), new PrintStream(err, true)));
        err.await("jhv: waiting for connection on: disconnected:unix:" + path + ",server=on");
        assertThat(opening).isNotDone();
        try (var client = new SocketClient(UnixDomainSocketAddress.of(path))) {
            var dev = opening.get(10, TimeUnit.SECONDS);
            assertThat(dev.isConnected()).isTrue();
            dev.close();
        }
    }

    @Test
    void tcpServerCarriesSerialBothWaysWithFlowControl() throws Exception {
        var dev = SocketChardev.open(new ChardevSpec.Tcp("127.0.0.1", 0, true, false, true), quiet());
        var uart = new RecordingFrontend(0);
        dev.attach(uart);
        var connected = new java.util.concurrent.CountDownLatch(1);
        dev.setListener(connected::countDown);
        dev.start();
        var port = ((InetSocketAddress) dev.localAddress()).getPort();
        try (var client = new SocketClient(new InetSocketAddress("127.0.0.1", port))) {
            assertThat(connected.await(10, TimeUnit.SECONDS)).isTrue();
            client.send("hello world");
            byte[] out = "boot ok\r\n".getBytes(StandardCharsets.US_ASCII);
            dev.write(out, 0, out.length);
            client.received.await("boot ok\r\n");
            assertThat(uart.received.text()).as("nothing while the UART is full").isEmpty();
            uart.setRoom(5);
            dev.frontendReady();
            uart.received.await("hello");
            uart.setRoom(100);
            dev.frontendReady();
            uart.received.await("hello world");
            assertThat(uart.received.text()).isEqualTo("hello world");
        }
        dev.close();
    }

    @Test
    void clientModeConnectsAndReportsRefusal() throws Exception {
        Path path = dir.resolve("peer.sock");
        assertThatThrownBy(() -> SocketChardev.open(new ChardevSpec.Unix(path, false, true), quiet()))
                .isInstanceOf(LauncherException.class).hasMessageStartingWith("Failed to connect to '" + path + "'");
        try (var server = ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            var dev = SocketChardev.open(new ChardevSpec.Unix(path, false, true), quiet());
            try (var peer = server.accept()) {
                byte[] out = "x".getBytes(StandardCharsets.US_ASCII);
                dev.write(out, 0, 1);
                var buf = java.nio.ByteBuffer.allocate(1);
                peer.read(buf);
                assertThat(buf.array()[0]).isEqualTo((byte) 'x');
            }
            dev.close();
        }
    }

    @Test
    void bindFailureIsOneLine() throws Exception {
        Path path = Files.writeString(dir.resolve("regular"), "not a socket");
        assertThatThrownBy(() -> SocketChardev.open(new ChardevSpec.Unix(path, true, false), quiet()))
                .isInstanceOf(LauncherException.class)
                .hasMessageStartingWith("Failed to bind socket to " + path + ": ");
        assertThat(Files.readString(path)).as("a regular file is never removed").isEqualTo("not a socket");
    }
}
