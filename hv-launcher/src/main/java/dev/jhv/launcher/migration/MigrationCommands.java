package dev.jhv.launcher.migration;

import dev.jhv.launcher.monitor.Args;
import dev.jhv.launcher.monitor.MonitorCommand;
import dev.jhv.launcher.monitor.MonitorContext;
import dev.jhv.launcher.monitor.MonitorException;
import dev.jhv.launcher.monitor.Param;
import dev.jhv.migration.control.Migration;

import java.util.List;
import java.util.function.Consumer;

/**
 * The HMP migration controls beside migrate and info migrate: migrate_cancel, migrate_set_parameter,
 * migrate_set_capability, their info commands, QEMU's old spellings migrate_set_speed and migrate_set_downtime,
 * and migrate_incoming (for -incoming defer).
 */
public final class MigrationCommands {
    private MigrationCommands() { }

    /** @param incoming starts loading from a URI on a destination started with -incoming defer */
    public static List<MonitorCommand> commands(Migration migration, Consumer<String> incoming) {
        return List.of(new Cancel(migration), new SetParameter(migration), new SetCapability(migration),
                new OldSpelling(migration, "migrate_set_speed", "set maximum speed (in bytes) for migrations (old "
                        + "spelling of migrate_set_parameter max-bandwidth)", "max-bandwidth"),
                new SetDowntime(migration),
                new OldSpelling(migration, "migrate_set_cache_size", "set cache size (in bytes) for XBZRLE "
                        + "migrations (old spelling of migrate_set_parameter xbzrle-cache-size)", "xbzrle-cache-size"),
                new Incoming(incoming));
    }

    public static List<MonitorCommand> infoCommands(Migration migration) {
        return List.of(new InfoParameters(migration), new InfoCapabilities(migration));
    }

    private static MonitorException failure(RuntimeException e) {
        return new MonitorException(e.getMessage());
    }

    /** Sets one parameter from HMP text; a bad name or value is the monitor's error. */
    private static void set(Migration migration, String name, String value) {
        try {
            migration.setParameters(migration.parameters().with(name, value));
        } catch (IllegalArgumentException e) {
            throw failure(e);
        }
    }

    private record Cancel(Migration migration) implements MonitorCommand {
        public String name() {
            return "migrate_cancel";
        }

        public String help() {
            return "cancel the current VM migration";
        }

        public void run(MonitorContext ctx, Args args) {
            migration.cancel();
        }
    }

    private record SetParameter(Migration migration) implements MonitorCommand {
        public String name() {
            return "migrate_set_parameter";
        }

        public List<Param> params() {
            return List.of(Param.word("parameter"), Param.word("value"));
        }

        public String help() {
            return "Set the parameter for migration";
        }

        public void run(MonitorContext ctx, Args args) {
            set(migration, args.get("parameter"), args.get("value"));
        }
    }

    private record SetCapability(Migration migration) implements MonitorCommand {
        public String name() {
            return "migrate_set_capability";
        }

        public List<Param> params() {
            return List.of(Param.word("capability"), Param.word("state"));
        }

        public String help() {
            return "Enable/Disable the usage of a capability for migration";
        }

        public void run(MonitorContext ctx, Args args) {
            boolean on = switch (args.get("state")) {
                case "on", "true", "yes" -> true;
                case "off", "false", "no" -> false;
                default -> throw new MonitorException("Parameter 'state' expects 'on' or 'off'");
            };
            try {
                migration.setCapabilities(migration.capabilities().with(args.get("capability"), on));
            } catch (IllegalArgumentException | IllegalStateException e) {
                throw failure(e);
            }
        }
    }

    /**
     * An old HMP spelling of one parameter, its value read as the parameter's (migrate_set_speed: max-bandwidth, a
     * bare number MiB/s as it was in QEMU; migrate_set_cache_size: xbzrle-cache-size in bytes).
     */
    private record OldSpelling(Migration migration, String name, String help, String parameter)
            implements MonitorCommand {
        public List<Param> params() {
            return List.of(Param.word("value"));
        }

        public void run(MonitorContext ctx, Args args) {
            set(migration, parameter, args.get("value"));
        }
    }

    /** The old spelling of downtime-limit, in seconds. */
    private record SetDowntime(Migration migration) implements MonitorCommand {
        public String name() {
            return "migrate_set_downtime";
        }

        public List<Param> params() {
            return List.of(Param.word("value"));
        }

        public String help() {
            return "set maximum tolerated downtime (in seconds) for migrations";
        }

        public void run(MonitorContext ctx, Args args) {
            double seconds;
            try {
                seconds = Double.parseDouble(args.get("value"));
            } catch (NumberFormatException e) {
                throw new MonitorException("Parameter 'value' expects a number");
            }
            set(migration, "downtime-limit", Long.toString(Math.round(seconds * 1000)));
        }
    }

    private record Incoming(Consumer<String> incoming) implements MonitorCommand {
        public String name() {
            return "migrate_incoming";
        }

        public List<Param> params() {
            return List.of(Param.restOfLine("uri"));
        }

        public String help() {
            return "Continue an incoming migration from an -incoming defer";
        }

        public void run(MonitorContext ctx, Args args) {
            try {
                incoming.accept(args.get("uri").strip());
            } catch (IllegalArgumentException | IllegalStateException e) {
                throw failure(e);
            }
        }
    }

    private record InfoParameters(Migration migration) implements MonitorCommand {
        public String name() {
            return "migrate_parameters";
        }

        public String help() {
            return "show current migration parameters";
        }

        public void run(MonitorContext ctx, Args args) {
            ctx.print(migration.parameters().describe());
        }
    }

    private record InfoCapabilities(Migration migration) implements MonitorCommand {
        public String name() {
            return "migrate_capabilities";
        }

        public String help() {
            return "show current migration capabilities";
        }

        public void run(MonitorContext ctx, Args args) {
            ctx.print(migration.capabilities().describe());
        }
    }
}
