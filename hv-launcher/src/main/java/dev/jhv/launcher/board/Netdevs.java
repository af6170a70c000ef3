package dev.jhv.launcher.board;

import dev.jhv.core.net.NetBackend;
import dev.jhv.core.net.NetBackendException;
import dev.jhv.core.net.NetBackends;
import dev.jhv.core.net.NetdevConfig;
import dev.jhv.devices.board.DeviceSpec;
import dev.jhv.launcher.LauncherException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Opens the -netdev backends at start-up, before the board, as {@link Drives} opens the drives: a backend that
 * cannot start ends jhv with its one line; a netdev no NIC uses gets QEMU's warning.
 */
final class Netdevs {
    private Netdevs() {
    }

    /** The backends by netdev id, in command-line order. */
    static Map<String, NetBackend> open(List<NetdevConfig> configs, List<DeviceSpec> devices) {
        var out = new LinkedHashMap<String, NetBackend>();
        try {
            for (NetdevConfig c : configs) {
                try {
                    out.put(c.id(), NetBackends.open(c));
                } catch (NetBackendException e) {
                    throw new LauncherException("-netdev " + c.id() + ": " + e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            close(out);
            throw e;
        }
        for (String id : out.keySet()) {
            if (!peers(devices).contains(id)) {
                System.err.println("jhv: warning: netdev " + id + " has no peer");
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /** The netdev ids the NICs of {@code devices} are wired to. */
    static List<String> peers(List<DeviceSpec> devices) {
        return devices.stream().filter(d -> d instanceof DeviceSpec.VirtioNetPci n && n.netdev() != null)
                .map(d -> ((DeviceSpec.VirtioNetPci) d).netdev()).toList();
    }

    static void close(Map<String, NetBackend> backends) {
        for (NetBackend b : backends.values()) {
            try {
                b.close();
            } catch (RuntimeException e) {
                System.err.println("jhv: netdev " + b.id() + ": " + e.getMessage());
            }
        }
    }
}
