package dev.jhv.launcher.migration;

import dev.jhv.core.machine.Machine;
import dev.jhv.launcher.command.CommandException;
import dev.jhv.launcher.command.Operation;
import dev.jhv.launcher.command.Parameter;
import dev.jhv.migration.control.Migration;
import dev.jhv.migration.control.MigrationCapabilities;
import dev.jhv.migration.control.MigrationParameters;
import dev.jhv.migration.control.MigrationStatus;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The QMP migration commands, with QEMU 7.2's names, arguments and reply shapes: migrate, migrate_cancel,
 * migrate-incoming, query-migrate, migrate-set-capabilities, query-migrate-capabilities, migrate-set-parameters,
 * query-migrate-parameters. (HMP has its own commands for these, rendered as QEMU's text.)
 */
public final class MigrationOperations {
    private MigrationOperations() { }

    public static List<Operation<?>> operations(Supplier<Machine> machine, Migration migration,
                                                Consumer<String> incoming) {
        List<Parameter> setParams = new ArrayList<>();
        for (var p : MigrationParameters.ALL) {
            setParams.add(switch (p.kind()) {
                case BOOL -> Parameter.bool(p.name()).asOptional();
                case TEXT, COMPRESSION -> Parameter.string(p.name()).asOptional();
                default -> Parameter.integer(p.name()).asOptional();
            });
        }
        return List.of(
                Operation.of("migrate", List.of(Parameter.string("uri"), Parameter.bool("detach").asOptional(),
                        Parameter.bool("blk").asOptional(), Parameter.bool("inc").asOptional(),
                        Parameter.bool("resume").asOptional()), (m, a) -> {
                    if (a.bool("blk", false) || a.bool("inc", false)) {
                        throw new CommandException("block migration is not supported yet");
                    }
                    try {
                        if (a.bool("resume", false)) {
                            migration.resume(a.string("uri")); // postcopy recovery
                            return null;
                        }
                        migration.migrate(machine.get(), a.string("uri"), true); // QMP's migrate returns at once
                    } catch (IllegalArgumentException x) {
                        throw new CommandException(x.getMessage());
                    }
                    return null;
                }),
                Operation.of("migrate_cancel", (m, a) -> { // QEMU 7.2 spells this one with "_"
                    migration.cancel();
                    return null;
                }),
                Operation.of("migrate-incoming", List.of(Parameter.string("uri")), (m, a) -> {
                    try {
                        incoming.accept(a.string("uri"));
                    } catch (IllegalArgumentException x) {
                        throw new CommandException(x.getMessage());
                    }
                    return null;
                }),
                Operation.of("query-migrate", (m, a) -> queryMigrate(migration.status().info())),
                Operation.of("migrate-set-capabilities", List.of(Parameter.objectList("capabilities")), (m, a) -> {
                    MigrationCapabilities c = migration.capabilities();
                    for (Map<String, Object> e : a.objectList("capabilities")) {
                        if (!(e.get("capability") instanceof String name)) {
                            throw new CommandException("Parameter 'capability' is missing");
                        }
                        if (!(e.get("state") instanceof Boolean state)) {
                            throw new CommandException("Parameter 'state' is missing");
                        }
                        try {
                            c = c.with(name, state);
                        } catch (IllegalArgumentException x) {
                            throw new CommandException(x.getMessage());
                        }
                    }
                    migration.setCapabilities(c);
                    return null;
                }),
                Operation.of("query-migrate-capabilities", (m, a) -> {
                    List<Map<String, Object>> out = new ArrayList<>();
                    for (String c : MigrationCapabilities.ALL) {
                        Map<String, Object> e = new LinkedHashMap<>();
                        e.put("state", migration.capabilities().enabled(c));
                        e.put("capability", c);
                        out.add(e);
                    }
                    return out;
                }),
                Operation.of("migrate-set-parameters", setParams, (m, a) -> {
                    MigrationParameters p = migration.parameters();
                    for (var def : MigrationParameters.ALL) {
                        Object v = a.raw(def.name());
                        if (v != null) {
                            try {
                                p = p.with(def.name(), v instanceof Boolean b ? (b ? "on" : "off")
                                        : def.kind() == MigrationParameters.Kind.MIB_PER_SECOND ? v + "B"
                                        : v.toString());
                            } catch (IllegalArgumentException x) {
                                throw new CommandException(x.getMessage());
                            }
                        }
                    }
                    migration.setParameters(p);
                    return null;
                }),
                Operation.of("query-migrate-parameters", (m, a) -> {
                    Map<String, Object> out = new LinkedHashMap<>();
                    for (var def : MigrationParameters.ALL) {
                        out.put(def.name(), migration.parameters().get(def.name()));
                    }
                    return out;
                }));
    }

    /** QEMU's SocketAddress for "tcp:HOST:PORT" or "unix:PATH" (the port a string, as QEMU's InetSocketAddress). */
    static Map<String, Object> socketAddress(String address) {
        Map<String, Object> a = new LinkedHashMap<>();
        if (address.startsWith("unix:")) {
            a.put("path", address.substring(5));
            a.put("type", "unix");
            return a;
        }
        String hostPort = address.substring(address.indexOf(':') + 1);
        int colon = hostPort.lastIndexOf(':');
        String host = hostPort.substring(0, colon);
        boolean v6 = host.startsWith("[");
        a.put("port", hostPort.substring(colon + 1));
        a.put(v6 ? "ipv6" : "ipv4", true);
        a.put("host", v6 ? host.substring(1, host.length() - 1) : host);
        a.put("type", "inet");
        return a;
    }

    /** query-migrate's reply: {} before any migration, then QEMU's keys for the state it is in. */
    static Map<String, Object> queryMigrate(MigrationStatus.MigrationInfo i) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (i.incoming()) {
            // a destination, as QEMU 7.2 answers on one: its state (none before the source comes) and where it
            // listens while it does
            if (i.state() != MigrationStatus.State.NONE) {
                out.put("status", i.state().qemuName());
            }
            if (i.socketAddress() != null) {
                out.put("socket-address", List.of(socketAddress(i.socketAddress())));
            }
            if (i.postcopy() != null) {
                out.put("postcopy-blocktime", i.postcopy().blocktimeMs());
            }
            return out;
        }
        if (i.state() == MigrationStatus.State.NONE) {
            return out;
        }
        out.put("status", i.state().qemuName());
        boolean running = i.state().running();
        if (i.state() != MigrationStatus.State.SETUP) {
            out.put("total-time", i.totalTimeMs());
        }
        if (running) {
            out.put("expected-downtime", Math.max(0, Math.min(i.expectedDowntimeMs(), Long.MAX_VALUE / 2)));
        }
        if (i.state() == MigrationStatus.State.COMPLETED) {
            out.put("downtime", i.downtimeMs());
        }
        if (i.state() == MigrationStatus.State.ACTIVE || i.state() == MigrationStatus.State.COMPLETED
                || i.state().postcopy()) {
            out.put("setup-time", i.setupTimeMs());
            Map<String, Object> ram = new LinkedHashMap<>();
            ram.put("transferred", i.transferredBytes());
            ram.put("remaining", i.remainingBytes());
            ram.put("total", i.totalBytes());
            ram.put("duplicate", i.duplicatePages());
            ram.put("skipped", 0L);
            ram.put("normal", i.normalPages());
            ram.put("normal-bytes", i.normalBytes());
            ram.put("dirty-sync-count", i.dirtySyncCount());
            ram.put("dirty-sync-missed-zero-copy", 0L);
            ram.put("postcopy-requests", i.postcopy() == null ? 0L : i.postcopy().requests());
            ram.put("page-size", 4096L);
            ram.put("multifd-bytes", i.multifd().bytes());
            ram.put("pages-per-second", i.pagesPerSecond());
            ram.put("precopy-bytes", i.precopyBytes());
            ram.put("downtime-bytes", i.downtimeBytes());
            ram.put("postcopy-bytes", i.postcopy() == null ? 0L : i.postcopy().bytes());
            // always there in QEMU 7.2 (0 until a second sync measured it, and once completed)
            ram.put("dirty-pages-rate", running && i.dirtySyncCount() > 1 ? i.dirtyPagesRate() : 0L);
            ram.put("mbps", i.throughputMbps());
            out.put("ram", ram);
            if (i.xbzrle() != null) {
                var x = i.xbzrle();
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("cache-size", x.cacheSize());
                c.put("bytes", x.bytes());
                c.put("pages", x.pages());
                c.put("cache-miss", x.cacheMiss());
                c.put("cache-miss-rate", x.cacheMissRate());
                c.put("encoding-rate", x.encodingRate());
                c.put("overflow", x.overflow());
                out.put("xbzrle-cache", c);
            }
        }
        if (i.cpuThrottle() != null) {
            out.put("cpu-throttle-percentage", (long) i.cpuThrottle().percent());
        }
        if (i.state() == MigrationStatus.State.FAILED && i.error() != null) {
            out.put("error-desc", i.error());
        }
        return out;
    }
}
