package dev.jhv.launcher.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jhv.core.net.NetdevConfig;
import dev.jhv.devices.board.DeviceSpec;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** -netdev, -nic and the netdev= of -device, checked as QEMU 7.2 checks them. */
class CommandLineParserNetdevTest {
    private static LaunchOptions parse(String... args) {
        var r = CommandLineParser.parse(List.of(args), Path.of("."));
        return ((CommandLineParser.Result.Run) r).options();
    }

    private static String error(String... args) {
        try {
            CommandLineParser.parse(List.of(args), Path.of("."));
        } catch (UsageException e) {
            assertThat(e.getMessage()).doesNotContain("\n");
            return e.getMessage();
        }
        throw new AssertionError("no error for " + List.of(args));
    }

    @Test
    void userHasQemusDefaultsAndRepeatableHostForwards() {
        var o = parse("-netdev", "user,id=n0,hostfwd=udp:127.0.0.1:5555-:7,hostfwd=tcp::2222-10.0.2.20:22",
                "-device", "virtio-net-pci,netdev=n0");
        var u = (NetdevConfig.User) o.board().netdevs().get(0);
        assertThat(u.id()).isEqualTo("n0");
        assertThat(NetdevConfig.dotted(u.network())).isEqualTo("10.0.2.0");
        assertThat(u.prefix()).isEqualTo(24);
        assertThat(NetdevConfig.dotted(u.host())).isEqualTo("10.0.2.2");
        assertThat(NetdevConfig.dotted(u.dns())).isEqualTo("10.0.2.3");
        assertThat(NetdevConfig.dotted(u.dhcpStart())).isEqualTo("10.0.2.15");
        assertThat(u.hostForwards()).containsExactly(
                new NetdevConfig.HostForward(true, 0x7f000001, 5555, 0x0a00020f, 7, "udp:127.0.0.1:5555-:7"),
                new NetdevConfig.HostForward(false, 0, 2222, 0x0a000214, 22, "tcp::2222-10.0.2.20:22"));
        assertThat(o.board().devices()).containsExactly(
                new DeviceSpec.VirtioNetPci(null, "n0", Optional.empty(), null));
    }

    @Test
    void userNetworkAndAddresses() {
        var u = (NetdevConfig.User) parse("-netdev", "user,id=n0,net=10.1.0.0/255.255.0.0,host=10.1.0.1,"
                + "dns=10.1.0.53,dhcpstart=10.1.0.100,restrict=on").board().netdevs().get(0);
        assertThat(u.prefix()).isEqualTo(16);
        assertThat(NetdevConfig.dotted(u.host())).isEqualTo("10.1.0.1");
        assertThat(u.restricted()).isTrue();
        assertThat(error("-netdev", "user,id=n0,net=10.0.2.0/33"))
                .isEqualTo("-netdev user,id=n0,net=10.0.2.0/33: Invalid netmask provided (must be in range 4-32)");
        assertThat(error("-netdev", "user,id=n0,host=10.9.9.9"))
                .isEqualTo("-netdev user,id=n0,host=10.9.9.9: Host doesn't belong to network");
        assertThat(error("-netdev", "user,id=n0,hostfwd=foo"))
                .isEqualTo("-netdev user,id=n0,hostfwd=foo: Invalid host forwarding rule 'foo' (No : separators)");
        assertThat(error("-netdev", "user,id=n0,hostfwd=sctp::1-:2")).endsWith("(Bad protocol name)");
        assertThat(error("-netdev", "user,id=n0,hostfwd=udp::99999-:7")).endsWith("(Bad host port)");
        assertThat(error("-netdev", "user,id=n0,bogus=1")).isEqualTo("-netdev user,id=n0,bogus=1: Invalid parameter 'bogus'");
    }

    @Test
    void tapAndStream() {
        var o = parse("-netdev", "tap,id=t0,ifname=tap7,script=no,downscript=no,vnet_hdr=off",
                "-netdev", "stream,id=s0,addr.type=unix,addr.path=/run/passt.sock",
                "-device", "virtio-net-pci,netdev=t0", "-device", "virtio-net-pci,netdev=s0,addr=5");
        assertThat(o.board().netdevs()).containsExactly(new NetdevConfig.Tap("t0", "tap7", Boolean.FALSE),
                new NetdevConfig.Stream("s0", UnixDomainSocketAddress.of("/run/passt.sock"), false));
        assertThat(error("-netdev", "tap,id=t0")).isEqualTo("-netdev tap,id=t0: jhv runs no network scripts "
                + "(script=/etc/qemu-ifup): set the interface up beforehand and give script=no,downscript=no");
        assertThat(error("-netdev", "stream,id=s0")).isEqualTo("-netdev stream,id=s0: Parameter 'addr.type' is missing");
        assertThat(error("-netdev", "stream,id=s0,addr.type=unix"))
                .isEqualTo("-netdev stream,id=s0,addr.type=unix: Parameter 'addr.path' is missing");
    }

    @Test
    void idsAndTypesAreCheckedAsQemuDoes() {
        assertThat(error("-netdev", "user")).isEqualTo("-netdev user: Parameter 'id' is missing");
        assertThat(error("-netdev", "foo,id=n0")).isEqualTo("-netdev foo,id=n0: Parameter 'type' does not accept value 'foo'");
        assertThat(error("-netdev", "socket,id=n0")).contains("not available in jhv");
        assertThat(error("-netdev", "user,id=n0", "-netdev", "user,id=n0"))
                .isEqualTo("-netdev user,id=n0: Duplicate ID 'n0' for netdev");
        assertThat(error("-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n1"))
                .isEqualTo("-device virtio-net-pci,netdev=n1: Property 'virtio-net-pci.netdev' can't find value 'n1'");
        assertThat(error("-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
                "-device", "virtio-net-pci,netdev=n0")).endsWith("can't take value 'n0', it's in use");
        // a netdev no NIC uses is allowed (QEMU only warns)
        assertThat(parse("-netdev", "user,id=n0").board().netdevs()).hasSize(1);
    }

    @Test
    void nicIsANetdevAndItsNic() {
        var o = parse("-nic", "user,model=virtio-net-pci,mac=52:54:00:00:00:09,hostfwd=udp::5555-:7",
                "-nic", "none");
        var u = (NetdevConfig.User) o.board().netdevs().get(0);
        assertThat(u.id()).matches("#net0\\d\\d");
        assertThat(u.hostForwards()).hasSize(1);
        assertThat(o.board().devices()).containsExactly(
                new DeviceSpec.VirtioNetPci(null, u.id(), Optional.empty(), "52:54:00:00:00:09"));
        assertThat(error("-nic", "user,model=e1000x")).isEqualTo("-nic user,model=e1000x: Unsupported NIC model: e1000x");
        assertThat(error("-nic", "user")).contains("add model=virtio-net-pci");
    }
}
