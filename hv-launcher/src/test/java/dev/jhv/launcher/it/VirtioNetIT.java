package dev.jhv.launcher.it;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * virtio-net-pci end to end: SeaBIOS boots disk.qcow2, testos's virtio-net driver (mode=vnet) comes up on jhv's
 * device, and the host reaches it through libslirp (DHCP, a UDP host forward to its echo port, across a
 * savevm/loadvm), through a real tap device in a network namespace the test makes (ping and UDP echo), and
 * through passt on a stream netdev (DHCP).
 */
@Tag("kvm")
class VirtioNetIT {
    private static final String READY = "VNET READY mac=52:54:00:12:34:56 ip=10.0.2.15";

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvmFirmwareAndMedia() {
        FirmwareBootIT.needKvmFirmwareAndMedia();
    }

    /** With irq=msix: interrupts reach the guest through the MSI-X table, also after a loadvm. */
    @Test
    void userModeGivesDhcpAndAHostForwardThatSurvivesSavevmAndLoadvm() throws Exception {
        Path disk = tmp.resolve("disk.qcow2");
        Files.copy(FirmwareBootIT.DISK, disk, StandardCopyOption.REPLACE_EXISTING);
        Path sock = tmp.resolve("mon.sock");
        int port = freeUdpPort();
        try (JhvProcess vm = FirmwareBootIT.jhv(FirmwareBootIT.concat(new String[] {"-m", "256", disk.toString(),
                        "-netdev", "user,id=n0,hostfwd=udp:127.0.0.1:" + port + "-:7",
                        "-device", "virtio-net-pci,netdev=n0",
                        "-monitor", "unix:" + sock + ",server,nowait"},
                FirmwareBootIT.cmdline("mode=vnet dhcp=1 irq=msix")));
             MonitorClient mon = MonitorClient.connect(sock, FirmwareBootIT.BOOT)) {
            vm.awaitLine("VNET DHCP ip=10\\.0\\.2\\.15 router=10\\.0\\.2\\.2 dns=10\\.0\\.2\\.3", FirmwareBootIT.BOOT);
            vm.awaitLine(Pattern.quote(READY), FirmwareBootIT.BOOT);
            assertThat(udpEcho(port, "before")).isEqualTo("before");
            assertThat(mon.command("info network"))
                    .contains("virtio-net-pci.0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56")
                    .contains(" \\ n0: index=0,type=user,net=10.0.2.0,restrict=off");
            assertThat(mon.command("savevm net")).isBlank();
            assertThat(udpEcho(port, "between")).isEqualTo("between");
            assertThat(mon.command("loadvm net")).isBlank();
            assertThat(udpEcho(port, "after the load")).isEqualTo("after the load");
            // the guest took its used buffers as MSI-X interrupts (irq=msix), through the table loadvm restored
            int at = vm.lineCount();
            vm.send("netstat\r");
            var stats = vm.awaitLine(Pattern.compile("VNET STATS .* irqs=(\\d+)"), at, FirmwareBootIT.BOOT);
            assertThat(Long.parseLong(stats.group(1))).as(stats.group()).isPositive();
            mon.send("quit");
            assertThat(vm.awaitExit(FirmwareBootIT.BOOT)).isZero();
        }
    }

    @Test
    void aTapInANamespacePingsAndEchoesTheGuest() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")) && Files.exists(Path.of("/dev/net/tun")),
                "tap devices and network namespaces need root and /dev/net/tun");
        String ns = "jhvvnet" + ProcessHandle.current().pid();
        run("ip", "netns", "del", ns);
        check("ip", "netns", "add", ns);
        try {
            check("ip", "netns", "exec", ns, "ip", "tuntap", "add", "dev", "jt0", "mode", "tap");
            check("ip", "netns", "exec", ns, "ip", "addr", "add", "10.0.2.1/24", "dev", "jt0");
            check("ip", "netns", "exec", ns, "ip", "link", "set", "jt0", "up");
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns,
                    JhvProcess.ROOT.resolve("jhv").toString(), "-display", "none", "-serial", "stdio",
                    "-m", "256", "-snapshot", FirmwareBootIT.DISK.toString(),
                    "-netdev", "tap,id=t0,ifname=jt0,script=no,downscript=no",
                    "-device", "virtio-net-pci,netdev=t0,mac=52:54:00:12:34:56"));
            cmd.addAll(List.of(FirmwareBootIT.cmdline("mode=vnet ip=10.0.2.15/24")));
            try (JhvProcess vm = JhvProcess.wrapped(cmd)) {
                vm.awaitLine("VNET DEV mac=52:54:00:12:34:56 link=up mrg_rxbuf=1 hdr=12", FirmwareBootIT.BOOT);
                vm.awaitLine(Pattern.quote(READY), FirmwareBootIT.BOOT);
                assertThat(check("ip", "netns", "exec", ns, "ping", "-c", "3", "-W", "5", "10.0.2.15"))
                        .contains("3 received");
                String echo = check("ip", "netns", "exec", ns, "python3", "-c", """
                        import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
                        s.sendto(b'through the tap', ('10.0.2.15', 7)); print(s.recvfrom(100)[0].decode())""");
                assertThat(echo.strip()).isEqualTo("through the tap");
                int at = vm.lineCount();
                vm.send("netstat\r");
                vm.awaitLine(Pattern.compile("VNET STATS .*icmp=3 udp=1 "), at, FirmwareBootIT.BOOT);
            }
        } finally {
            run("ip", "netns", "del", ns);
        }
    }

    /**
     * A live migration (tcp) while the host keeps sending datagrams to the guest's echo: the destination's guest
     * answers through the destination's own host forward afterwards (a NIC restored with its queues mid-traffic).
     */
    @Test
    void aLiveMigrationUnderTrafficKeepsTheNicWorking() throws Exception {
        int srcPort = freeUdpPort();
        int dstPort = freeUdpPort();
        int migrationPort = LiveMigrationIT.freePort();
        Path srcSock = tmp.resolve("src.sock");
        Path dstSock = tmp.resolve("dst.sock");
        String[] common = {"-m", "256", "-snapshot", FirmwareBootIT.DISK.toString(),
                "-device", "virtio-net-pci,netdev=n0"};
        try (JhvProcess src = FirmwareBootIT.jhv(FirmwareBootIT.concat(FirmwareBootIT.concat(common, new String[] {
                        "-netdev", "user,id=n0,hostfwd=udp:127.0.0.1:" + srcPort + "-:7",
                        "-monitor", "unix:" + srcSock + ",server,nowait"}), FirmwareBootIT.cmdline("mode=vnet dhcp=1")));
             MonitorClient srcMon = MonitorClient.connect(srcSock, FirmwareBootIT.BOOT);
             JhvProcess dst = FirmwareBootIT.jhv(FirmwareBootIT.concat(FirmwareBootIT.concat(common, new String[] {
                        "-netdev", "user,id=n0,hostfwd=udp:127.0.0.1:" + dstPort + "-:7",
                        "-incoming", "tcp:127.0.0.1:" + migrationPort,
                        "-monitor", "unix:" + dstSock + ",server,nowait"}), FirmwareBootIT.cmdline("mode=vnet dhcp=1")));
             MonitorClient dstMon = MonitorClient.connect(dstSock, FirmwareBootIT.BOOT)) {
            src.awaitLine(Pattern.quote(READY), FirmwareBootIT.BOOT);
            assertThat(udpEcho(srcPort, "on the source")).isEqualTo("on the source");
            var sending = new java.util.concurrent.atomic.AtomicBoolean(true);
            Thread traffic = Thread.ofPlatform().name("udp-traffic").start(() -> {
                try (var s = new DatagramSocket()) {
                    byte[] data = new byte[1200];
                    var to = new InetSocketAddress("127.0.0.1", srcPort);
                    while (sending.get()) {
                        s.send(new DatagramPacket(data, data.length, to));
                        java.util.concurrent.locks.LockSupport.parkNanos(200_000);
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try {
                assertThat(srcMon.command("migrate -d tcp:127.0.0.1:" + migrationPort)).isBlank();
                assertThat(LiveMigrationIT.awaitMigration(srcMon, "completed", "failed"))
                        .contains("Migration status: completed");
            } finally {
                sending.set(false);
                traffic.join();
            }
            assertThat(LiveMigrationIT.awaitMigration(dstMon, "completed", "failed"))
                    .contains("Migration status: completed");
            assertThat(udpEcho(dstPort, "on the destination")).isEqualTo("on the destination");
            assertThat(dstMon.command("info status")).contains("VM status: running");
            srcMon.send("quit");
            dstMon.send("quit");
        }
    }

    /** passt (Debian's) in a namespace with a default route, speaking to the guest through -netdev stream. */
    @Test
    void passtGivesTheGuestItsAddressThroughAStreamNetdev() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "network namespaces need root");
        Path passt = Path.of("/usr/bin/passt");
        assumeTrue(Files.isExecutable(passt), "passt is not installed (scripts/install-deps installs it)");
        String ns = "jhvpasst" + ProcessHandle.current().pid();
        run("ip", "netns", "del", ns);
        check("ip", "netns", "add", ns);
        Process p = null;
        try {
            // passt takes its addresses from the namespace's default route: a veth pair, both ends inside
            check("ip", "netns", "exec", ns, "ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1");
            check("ip", "netns", "exec", ns, "ip", "addr", "add", "10.78.0.5/24", "dev", "v0");
            check("ip", "netns", "exec", ns, "ip", "link", "set", "v0", "up");
            check("ip", "netns", "exec", ns, "ip", "link", "set", "v1", "up");
            check("ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", "10.78.0.1");
            // passt becomes nobody before it binds its socket: a directory nobody may write
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
            Path run = Files.createDirectory(tmp.resolve("run"));
            Files.setPosixFilePermissions(run, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
            Path sock = run.resolve("passt.sock");
            p = new ProcessBuilder("ip", "netns", "exec", ns, passt.toString(), "-f", "-q", "-s", sock.toString())
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("passt.log").toFile()).start();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(sock) && System.nanoTime() < end && p.isAlive()) {
                Thread.onSpinWait();
            }
            assertThat(sock).as("passt's socket").exists();
            try (JhvProcess vm = FirmwareBootIT.jhv(FirmwareBootIT.concat(new String[] {"-m", "256", "-snapshot",
                            FirmwareBootIT.DISK.toString(), "-netdev",
                            "stream,id=s0,server=off,addr.type=unix,addr.path=" + sock,
                            "-device", "virtio-net-pci,netdev=s0"},
                    FirmwareBootIT.cmdline("mode=vnet dhcp=1")))) {
                vm.awaitLine("VNET DHCP ip=10\\.78\\.0\\.5 router=10\\.78\\.0\\.1", FirmwareBootIT.BOOT);
                vm.awaitLine("VNET READY mac=52:54:00:12:34:56 ip=10\\.78\\.0\\.5", FirmwareBootIT.BOOT);
            }
        } finally {
            if (p != null) {
                p.destroy();
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            run("ip", "netns", "del", ns);
        }
    }

    private static int freeUdpPort() throws IOException {
        try (var s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            return s.getLocalPort();
        }
    }

    /** Sends {@code text} to the host forward and returns what comes back (within 10 s, retried once a second). */
    private static String udpEcho(int port, String text) throws IOException {
        try (var s = new DatagramSocket()) {
            s.setSoTimeout(1000);
            byte[] data = text.getBytes(StandardCharsets.UTF_8);
            for (int attempt = 0; attempt < 10; attempt++) {
                s.send(new DatagramPacket(data, data.length, new InetSocketAddress("127.0.0.1", port)));
                var reply = new DatagramPacket(new byte[200], 200);
                try {
                    s.receive(reply);
                    return new String(reply.getData(), 0, reply.getLength(), StandardCharsets.UTF_8);
                } catch (java.net.SocketTimeoutException e) {
                    // UDP: the datagram or its echo may be lost while the guest is being loaded; send again
                }
            }
            return "(no echo)";
        }
    }

    private record Result(int code, String output) { }

    private static Result run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not end in 30 s");
        }
        return new Result(p.exitValue(), out);
    }

    private static String check(String... cmd) throws IOException, InterruptedException {
        Result r = run(cmd);
        assertThat(r.code()).as(String.join(" ", cmd) + ": " + r.output()).isZero();
        return r.output();
    }
}
