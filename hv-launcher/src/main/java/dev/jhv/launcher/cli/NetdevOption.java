package dev.jhv.launcher.cli;

import dev.jhv.core.net.NetdevConfig;
import dev.jhv.devices.board.DeviceSpec;

import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * -netdev tap|stream|user,id=ID,... and -nic TYPE,...,model=virtio-net-pci as QEMU 7.2 spells them. Errors are the
 * text QEMU prints after "-netdev TEXT: ".
 */
final class NetdevOption {
    /** QEMU's netdev types that jhv does not have: refused by name rather than as unknown. */
    private static final Set<String> QEMU_ONLY = Set.of("socket", "dgram", "bridge", "l2tpv3", "vde", "netmap",
            "vhost-user", "vhost-vdpa", "hubport", "af-xdp", "vmnet-host", "vmnet-shared", "vmnet-bridged");
    /** QEMU's id rule: a letter, then letters, digits, '-', '.', '_'. */
    private static final Pattern ID = Pattern.compile("[A-Za-z][A-Za-z0-9._-]*");
    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final String NIC_MODEL = "virtio-net-pci";

    /** A -nic: the netdev it implies and the NIC on it. */
    record Nic(NetdevConfig netdev, DeviceSpec.VirtioNetPci device) { }

    private NetdevOption() {
    }

    /** One -netdev. @throws IllegalArgumentException with QEMU's message */
    static NetdevConfig parse(String text) {
        var kv = KeyValueList.parse(text, "type", Set.of());
        String id = kv.take("id");
        if (id == null) {
            throw new IllegalArgumentException("Parameter 'id' is missing");
        }
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("Parameter 'id' expects an identifier");
        }
        return backend(kv, id);
    }

    /**
     * One -nic; {@code index} counts the -nic options so far, for the netdev's generated id (QEMU's "#net0NN").
     * Returns empty for "-nic none".
     */
    static Optional<Nic> parseNic(String text, int index) {
        var kv = KeyValueList.parse(text, "type", Set.of());
        if ("none".equals(kv.take("type")) && kv.firstUnknown() == null) {
            return Optional.empty();
        }
        String model = kv.take("model");
        String mac = kv.take("mac");
        if (model == null) {
            // QEMU's pc would give an e1000; jhv's NIC is virtio-net
            throw new IllegalArgumentException("Unsupported NIC model: e1000 (jhv has " + NIC_MODEL + ": add model="
                    + NIC_MODEL + ")");
        }
        if (!model.equals(NIC_MODEL)) {
            throw new IllegalArgumentException("Unsupported NIC model: " + model);
        }
        String id = kv.take("id");
        if (id == null) {
            id = "#net" + index + String.format("%02d", ThreadLocalRandom.current().nextInt(100));
        }
        NetdevConfig netdev = backend(kv, id);
        return Optional.of(new Nic(netdev, new DeviceSpec.VirtioNetPci(null, id, Optional.empty(), mac)));
    }

    private static NetdevConfig backend(KeyValueList kv, String id) {
        String type = kv.take("type");
        NetdevConfig c = switch (type == null ? "" : type) {
            case "tap" -> tap(kv, id);
            case "stream" -> stream(kv, id);
            case "user" -> user(kv, id);
            case "" -> throw new IllegalArgumentException("Parameter 'type' is missing");
            default -> throw new IllegalArgumentException(QEMU_ONLY.contains(type)
                    ? "netdev type '" + type + "' is not available in jhv (it has tap, stream and user)"
                    : "Parameter 'type' does not accept value '" + type + "'");
        };
        String unknown = kv.firstUnknown();
        if (unknown != null) {
            throw new IllegalArgumentException("Invalid parameter '" + unknown + "'");
        }
        return c;
    }

    private static NetdevConfig.Tap tap(KeyValueList kv, String id) {
        String ifname = kv.take("ifname");
        String script = kv.take("script");
        String downscript = kv.take("downscript");
        Boolean vnetHdr = kv.takeBoolean("vnet_hdr", "vnet_hdr");
        Boolean vhost = kv.takeBoolean("vhost", "vhost");
        for (String[] s : new String[][] {{"script", script, "/etc/qemu-ifup"},
                {"downscript", downscript, "/etc/qemu-ifdown"}}) {
            String v = s[1] == null ? s[2] : s[1];
            if (!v.equals("no") && !v.isEmpty()) {
                throw new IllegalArgumentException("jhv runs no network scripts (" + s[0] + "=" + v
                        + "): set the interface up beforehand and give script=no,downscript=no");
            }
        }
        if (Boolean.TRUE.equals(vhost)) {
            throw new IllegalArgumentException("vhost-net is not available in jhv: use vhost=off");
        }
        return new NetdevConfig.Tap(id, ifname == null || ifname.isEmpty() ? null : ifname, vnetHdr);
    }

    private static NetdevConfig.Stream stream(KeyValueList kv, String id) {
        Boolean server = kv.takeBoolean("server", "server");
        String addrType = kv.take("addr.type");
        if (addrType == null) {
            throw new IllegalArgumentException("Parameter 'addr.type' is missing");
        }
        return switch (addrType) {
            case "unix" -> {
                String path = kv.take("addr.path");
                if (path == null || path.isEmpty()) {
                    throw new IllegalArgumentException("Parameter 'addr.path' is missing");
                }
                yield new NetdevConfig.Stream(id, UnixDomainSocketAddress.of(path), Boolean.TRUE.equals(server));
            }
            case "inet" -> {
                String host = kv.take("addr.host");
                String port = kv.take("addr.port");
                if (host == null) {
                    throw new IllegalArgumentException("Parameter 'addr.host' is missing");
                }
                if (port == null) {
                    throw new IllegalArgumentException("Parameter 'addr.port' is missing");
                }
                int p = port(port, "addr.port");
                yield new NetdevConfig.Stream(id, host.isEmpty() ? new InetSocketAddress(p)
                        : InetSocketAddress.createUnresolved(host, p), Boolean.TRUE.equals(server));
            }
            default -> throw new IllegalArgumentException("Parameter 'addr.type' does not accept value '" + addrType
                    + "'" + (addrType.equals("fd") ? " (jhv has unix and inet)" : ""));
        };
    }

    private static int port(String text, String param) {
        try {
            int p = Integer.parseInt(text);
            if (p >= 0 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("Parameter '" + param + "' expects a port number (0 to 65535)");
    }

    private static NetdevConfig.User user(KeyValueList kv, String id) {
        var d = NetdevConfig.User.defaults(id);
        int network = d.network();
        int prefix = d.prefix();
        String net = kv.take("net");
        if (net != null) {
            String addr = net;
            int slash = net.indexOf('/');
            if (slash >= 0) {
                addr = net.substring(0, slash);
                prefix = netmask(net.substring(slash + 1));
            }
            network = ipv4(addr, "Invalid network '" + net + "'");
        }
        int mask = prefix == 0 ? 0 : -1 << (32 - prefix);
        if ((network & ~mask) != 0) {
            throw new IllegalArgumentException("Invalid network '" + net + "': host bits are set");
        }
        int host = address(kv.take("host"), network | 2, network, mask, "Host");
        int dns = address(kv.take("dns"), network | 3, network, mask, "DNS");
        int dhcp = address(kv.take("dhcpstart"), network | 15, network, mask, "DHCP");
        Boolean restrict = kv.takeBoolean("restrict", "restrict");
        kv.takeBoolean("ipv4", "ipv4");
        kv.takeBoolean("ipv6", "ipv6");  // jhv's slirp is IPv4 only; the guest just gets no IPv6 answers
        var forwards = new ArrayList<NetdevConfig.HostForward>();
        for (String rule : kv.takeAll("hostfwd")) {
            forwards.add(hostForward(rule, dhcp));
        }
        return new NetdevConfig.User(id, network, prefix, host, dns, dhcp, Boolean.TRUE.equals(restrict), forwards);
    }

    private static int netmask(String text) {
        if (IPV4.matcher(text).matches()) {
            int m = ipv4(text, "Invalid netmask provided");
            int p = Integer.bitCount(m);
            if (m != (p == 0 ? 0 : -1 << (32 - p))) {
                throw new IllegalArgumentException("Invalid netmask provided");
            }
            text = Integer.toString(p);
        }
        try {
            int p = Integer.parseInt(text);
            if (p >= 4 && p <= 32) {
                return p;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("Invalid netmask provided (must be in range 4-32)");
    }

    private static int address(String text, int dflt, int network, int mask, String what) {
        if (text == null) {
            return dflt;
        }
        int a = ipv4(text, "Failed to parse " + what + " address '" + text + "'");
        if ((a & mask) != network) {
            throw new IllegalArgumentException(what + " doesn't belong to network");
        }
        return a;
    }

    /** "10.0.2.2" as an int; throws {@code error} for anything else. */
    static int ipv4(String text, String error) {
        var m = IPV4.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException(error);
        }
        int a = 0;
        for (int i = 1; i <= 4; i++) {
            int b = Integer.parseInt(m.group(i));
            if (b > 255) {
                throw new IllegalArgumentException(error);
            }
            a = (a << 8) | b;
        }
        return a;
    }

    /** hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport; a blank guest address is the DHCP start. */
    private static NetdevConfig.HostForward hostForward(String rule, int dhcpStart) {
        int c = rule.indexOf(':');
        if (c < 0) {
            throw badRule(rule, "No : separators");
        }
        String proto = rule.substring(0, c);
        boolean udp = switch (proto) {
            case "", "tcp" -> false;
            case "udp" -> true;
            default -> throw badRule(rule, "Bad protocol name");
        };
        String rest = rule.substring(c + 1);
        int dash = rest.indexOf('-');
        if (dash < 0) {
            throw badRule(rule, "No - separator");
        }
        String hostPart = rest.substring(0, dash);
        String guestPart = rest.substring(dash + 1);
        int hc = hostPart.lastIndexOf(':');
        int gc = guestPart.lastIndexOf(':');
        if (hc < 0 || gc < 0) {
            throw badRule(rule, "No : separators");
        }
        int hostAddr = hostPart.substring(0, hc).isEmpty() ? 0 : ruleAddress(hostPart.substring(0, hc), rule, "host");
        int guestAddr = guestPart.substring(0, gc).isEmpty() ? dhcpStart
                : ruleAddress(guestPart.substring(0, gc), rule, "guest");
        int hostPort = rulePort(hostPart.substring(hc + 1), rule, "host", 0);
        int guestPort = rulePort(guestPart.substring(gc + 1), rule, "guest", 1);
        return new NetdevConfig.HostForward(udp, hostAddr, hostPort, guestAddr, guestPort, rule);
    }

    private static int ruleAddress(String text, String rule, String side) {
        try {
            return ipv4(text, "");
        } catch (IllegalArgumentException e) {
            throw badRule(rule, "Bad " + side + " address");
        }
    }

    private static int rulePort(String text, String rule, String side, int min) {
        try {
            int p = Integer.parseInt(text);
            if (p >= min && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw badRule(rule, "Bad " + side + " port");
    }

    private static IllegalArgumentException badRule(String rule, String why) {
        return new IllegalArgumentException("Invalid host forwarding rule '" + rule + "' (" + why + ")");
    }

    /**
     * The cross-checks QEMU makes once every option is read: a -device netdev= must name a netdev, and a netdev
     * takes one NIC. Returns the ids no NIC uses (QEMU warns "netdev X has no peer").
     */
    static List<String> checkPeers(List<NetdevConfig> netdevs, List<DeviceSpec> devices, List<String> deviceTexts) {
        var ids = netdevs.stream().map(NetdevConfig::id).toList();
        var used = new ArrayList<String>();
        for (int i = 0; i < devices.size(); i++) {
            if (devices.get(i) instanceof DeviceSpec.VirtioNetPci n && n.netdev() != null) {
                String text = i < deviceTexts.size() ? deviceTexts.get(i) : null;
                String where = text != null ? "-device " + text + ": " : "-nic: ";
                if (!ids.contains(n.netdev())) {
                    throw new UsageException(where + "Property 'virtio-net-pci.netdev' can't find value '"
                            + n.netdev() + "'");
                }
                if (used.contains(n.netdev())) {
                    throw new UsageException(where + "Property 'virtio-net-pci.netdev' can't take value '"
                            + n.netdev() + "', it's in use");
                }
                used.add(n.netdev());
            }
        }
        return ids.stream().filter(id -> !used.contains(id)).toList();
    }
}
