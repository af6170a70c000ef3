package dev.jhv.launcher.monitor;

import dev.jhv.core.machine.MachineControl;
import dev.jhv.launcher.command.Operation;
import dev.jhv.launcher.command.OperationTable;
import dev.jhv.launcher.command.Parameter;
import dev.jhv.launcher.command.StandardOperations;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The monitors' commands: HMP commands by name and alias, and the typed operations QMP runs. An operation with an
 * HMP form is both ({@link #register(Operation)}); HMP-only commands are {@link MonitorCommand}s.
 */
public final class CommandTable {
    private final Map<String, MonitorCommand> byName = new TreeMap<>();
    private final Map<String, MonitorCommand> byAlias = new TreeMap<>();
    private final OperationTable operations = new OperationTable();

    /** jhv's standard commands: help, info, the standard operations, human-monitor-command. */
    public static CommandTable standard() {
        var t = new CommandTable();
        t.register(new HelpCommand());
        t.register(new InfoCommand(new CommandTable()));
        for (var op : StandardOperations.all(t.operations())) {
            t.register(op);
        }
        t.register(humanMonitorCommand(t));
        return t;
    }

    /** The operations QMP offers. */
    public OperationTable operations() {
        return operations;
    }

    /** Adds an HMP-only command; a name or alias already taken is a programming error. */
    public synchronized CommandTable register(MonitorCommand command) {
        checkFree(command);
        byName.put(command.name(), command);
        for (String a : command.aliases()) {
            byAlias.put(a, command);
        }
        return this;
    }

    /** Adds an operation for QMP and, when it has an HMP form, as an HMP command or "info" subcommand. */
    public synchronized CommandTable register(Operation<?> op) {
        if (operations.find(op.name()) != null) {
            throw new IllegalArgumentException("operation '" + op.name() + "' is already registered");
        }
        if (op.hmp() != null) {
            var hmp = new OperationCommand<>(op);
            if (op.hmp().info()) {
                info().subcommands().register(hmp);
            } else {
                register(hmp);
            }
        }
        operations.register(op);
        return this;
    }

    private void checkFree(MonitorCommand command) {
        if (find(command.name()) != null) {
            throw new IllegalArgumentException("monitor command '" + command.name() + "' is already registered");
        }
        for (String a : command.aliases()) {
            if (find(a) != null) {
                throw new IllegalArgumentException("monitor command alias '" + a + "' is already registered");
            }
        }
    }

    /** Adds an "info" subcommand ("info migrate"): the command's name is the word after "info". */
    public CommandTable registerInfo(MonitorCommand subcommand) {
        info().subcommands().register(subcommand);
        return this;
    }

    private InfoCommand info() {
        if (!(find("info") instanceof InfoCommand info)) {
            throw new IllegalStateException("this command table has no 'info' command");
        }
        return info;
    }

    /** The command named or aliased {@code name}, or null. */
    public synchronized MonitorCommand find(String name) {
        var c = byName.get(name);
        return c != null ? c : byAlias.get(name);
    }

    /** Every command, sorted by name. */
    public synchronized List<MonitorCommand> all() {
        return new ArrayList<>(byName.values());
    }

    /** Runs one HMP command line and returns what it printed, with QEMU's "\r\n" line ends. */
    public String runHmp(MachineControl machine, String line) {
        var out = new StringBuilder();
        var ctx = new MonitorContext() {
            @Override
            public MachineControl machine() {
                return machine;
            }

            @Override
            public CommandTable commands() {
                return CommandTable.this;
            }

            @Override
            public void print(String text) {
                out.append(text);
            }
        };
        Dispatcher.execute(ctx, this, line, "");
        return out.toString().replace("\r\n", "\n").replace("\n", "\r\n");
    }

    /** human-monitor-command: an HMP command line run from QMP, its text as the result. */
    private static Operation<String> humanMonitorCommand(CommandTable table) {
        return Operation.of("human-monitor-command",
                List.of(Parameter.string("command-line"), Parameter.integer("cpu-index").asOptional()),
                (machine, args) -> table.runHmp(machine, args.string("command-line")));
    }
}
