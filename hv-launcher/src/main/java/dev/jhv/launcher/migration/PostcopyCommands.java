package dev.jhv.launcher.migration;

import dev.jhv.launcher.command.CommandException;
import dev.jhv.launcher.command.Operation;
import dev.jhv.launcher.command.Parameter;
import dev.jhv.launcher.monitor.Args;
import dev.jhv.launcher.monitor.MonitorCommand;
import dev.jhv.launcher.monitor.MonitorContext;
import dev.jhv.launcher.monitor.MonitorException;
import dev.jhv.launcher.monitor.Param;
import dev.jhv.migration.control.Migration;

import java.util.List;
import java.util.function.Consumer;

/**
 * Postcopy's monitor commands with QEMU 7.2's names: migrate_start_postcopy and migrate_recover (HMP),
 * migrate-start-postcopy and migrate-recover (QMP). migrate -r / QMP migrate's resume are in the migrate commands.
 */
public final class PostcopyCommands {
    private PostcopyCommands() { }

    /** @param recover migrate_recover on a destination (its incoming migration) */
    public static List<MonitorCommand> commands(Migration migration, Consumer<String> recover) {
        return List.of(new StartPostcopy(migration), new Recover(recover));
    }

    public static List<Operation<?>> operations(Migration migration, Consumer<String> recover) {
        return List.of(
                Operation.of("migrate-start-postcopy", (m, a) -> {
                    try {
                        migration.startPostcopy();
                    } catch (IllegalStateException e) {
                        throw new CommandException(e.getMessage());
                    }
                    return null;
                }),
                Operation.of("migrate-recover", List.of(Parameter.string("uri")), (m, a) -> {
                    try {
                        recover.accept(a.string("uri"));
                    } catch (IllegalArgumentException | IllegalStateException e) {
                        throw new CommandException(e.getMessage());
                    }
                    return null;
                }));
    }

    private record StartPostcopy(Migration migration) implements MonitorCommand {
        public String name() {
            return "migrate_start_postcopy";
        }

        public String help() {
            return "Followup to a migration command to switch the migration to postcopy mode. The postcopy-ram "
                    + "capability must be set on both source and destination before the original migration "
                    + "command .";
        }

        public void run(MonitorContext ctx, Args args) {
            try {
                migration.startPostcopy();
            } catch (IllegalStateException e) {
                throw new MonitorException(e.getMessage());
            }
        }
    }

    private record Recover(Consumer<String> recover) implements MonitorCommand {
        public String name() {
            return "migrate_recover";
        }

        public List<Param> params() {
            return List.of(Param.word("uri"));
        }

        public String help() {
            return "Continue a paused incoming postcopy migration";
        }

        public void run(MonitorContext ctx, Args args) {
            try {
                recover.accept(args.get("uri"));
            } catch (IllegalArgumentException | IllegalStateException e) {
                throw new MonitorException(e.getMessage());
            }
        }
    }
}
