package dev.jhv.core.net;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.List;

/** One -netdev as parsed: which backend, with what settings. {@link NetBackends#open} turns it into a backend. */
public sealed interface NetdevConfig {
    /** The -netdev id (QEMU's "#net0NN" for what -nic implies). */
    String id();

    /**
     * -netdev tap,id=,ifname=,script=no,downscript=no[,vnet_hdr=on|off].
     *
     * @param ifname  the host interface, null for the kernel's next free tapN
     * @param vnetHdr TRUE: required, FALSE: never, null: when the kernel offers it (QEMU's default)
     */
    record Tap(String id, String ifname, Boolean vnetHdr) implements NetdevConfig { }

    /**
     * -netdev stream,id=,addr.type=unix|inet,...[,server=on|off]: frames with a 4-byte big-endian length, as passt
     * and QEMU's stream netdev speak.
     *
     * @param address a {@link UnixDomainSocketAddress} or an {@link InetSocketAddress}
     */
    record Stream(String id, SocketAddress address, boolean server) implements NetdevConfig { }

    /**
     * -netdev user: libslirp's network. Addresses are IPv4 ints (10.0.2.2 is 0x0a000202).
     *
     * @param prefix the network's prefix length (24 for 10.0.2.0/24)
     */
    record User(String id, int network, int prefix, int host, int dns, int dhcpStart, boolean restricted,
                List<HostForward> hostForwards) implements NetdevConfig {
        public User {
            hostForwards = List.copyOf(hostForwards);
        }

        /** QEMU's defaults: 10.0.2.0/24, host 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15. */
        public static User defaults(String id) {
            return new User(id, 0x0a000200, 24, 0x0a000202, 0x0a000203, 0x0a00020f, false, List.of());
        }

        public int netmask() {
            return prefix == 0 ? 0 : -1 << (32 - prefix);
        }
    }

    /**
     * hostfwd=tcp|udp:[hostaddr]:hostport-[guestaddr]:guestport, with the blanks filled (host 0.0.0.0, guest the
     * DHCP start address); {@code rule} is the text as given, for errors.
     */
    record HostForward(boolean udp, int hostAddr, int hostPort, int guestAddr, int guestPort, String rule) { }

    /** "10.0.2.2" for 0x0a000202. */
    static String dotted(int addr) {
        return (addr >>> 24) + "." + ((addr >>> 16) & 0xff) + "." + ((addr >>> 8) & 0xff) + "." + (addr & 0xff);
    }
}
