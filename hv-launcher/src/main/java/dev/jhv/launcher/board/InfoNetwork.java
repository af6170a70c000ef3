package dev.jhv.launcher.board;

import dev.jhv.core.net.NetBackend;
import dev.jhv.devices.board.DeviceSpec;
import dev.jhv.launcher.monitor.Args;
import dev.jhv.launcher.monitor.MonitorCommand;
import dev.jhv.launcher.monitor.MonitorContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * HMP "info network" as QEMU 7.2 prints it: the netdevs no NIC uses first, then each NIC's line with its netdev's
 * below it ("virtio-net-pci.0: index=0,type=nic,...", " \ n0: index=0,type=user,net=10.0.2.0,restrict=off").
 * The NIC half comes from {@link Nic}s the board's NIC devices describe; the netdev half from
 * {@link NetBackend#info}.
 */
public final class InfoNetwork implements MonitorCommand {
    /** QEMU's first default MAC address; each NIC without mac= takes the next. */
    private static final long DEFAULT_MAC = 0x525400123456L;

    /**
     * One NIC as info network shows it.
     *
     * @param line   "virtio-net-pci.0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56"
     * @param netdev the netdev id it is wired to, null for none
     */
    public record Nic(String line, String netdev) { }

    private final Supplier<List<Nic>> nics;
    private final Map<String, NetBackend> netdevs;

    public InfoNetwork(Supplier<List<Nic>> nics, Map<String, NetBackend> netdevs) {
        this.nics = nics;
        this.netdevs = netdevs;
    }

    @Override
    public String name() {
        return "network";
    }

    @Override
    public String help() {
        return "show the network state";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        ctx.print(render(nics.get(), netdevs));
    }

    static String render(List<Nic> nics, Map<String, NetBackend> netdevs) {
        var sb = new StringBuilder();
        var peered = nics.stream().map(Nic::netdev).toList();
        for (NetBackend b : netdevs.values()) {
            if (!peered.contains(b.id())) {
                sb.append(b.info()).append('\n');
            }
        }
        for (Nic n : nics) {
            sb.append(n.line()).append('\n');
            NetBackend b = n.netdev() == null ? null : netdevs.get(n.netdev());
            if (b != null) {
                sb.append(" \\ ").append(b.info()).append('\n');
            }
        }
        return sb.toString();
    }

    /**
     * The NICs as the command line describes them (QEMU's default names and MACs), for a board whose NIC devices
     * do not describe themselves yet.
     */
    static List<Nic> fromConfig(List<DeviceSpec> devices) {
        var out = new ArrayList<Nic>();
        long nextMac = DEFAULT_MAC;
        int n = 0;
        for (DeviceSpec d : devices) {
            if (d instanceof DeviceSpec.VirtioNetPci v) {
                String mac = v.mac();
                if (mac == null) {
                    mac = macText(nextMac++);
                }
                String name = v.id() != null ? v.id() : v.driver() + "." + n;
                n++;
                out.add(new Nic(name + ": index=0,type=nic,model=" + v.driver() + ",macaddr=" + mac, v.netdev()));
            }
        }
        return out;
    }

    private static String macText(long mac) {
        var sb = new StringBuilder();
        for (int i = 5; i >= 0; i--) {
            sb.append(String.format("%02x", (mac >>> (8 * i)) & 0xff));
            if (i > 0) {
                sb.append(':');
            }
        }
        return sb.toString();
    }
}
