package dev.jhv.launcher.monitor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Monitor commands by name and alias. Later features add theirs with {@link #register}. */
public final class CommandTable {
    private final Map<String, MonitorCommand> byName = new TreeMap<>();
    private final Map<String, MonitorCommand> byAlias = new TreeMap<>();

    /** The HMP commands of jhv 0.1 (help, info, stop, cont, system_reset, system_powerdown, quit). */
    public static CommandTable standard() {
        var t = new CommandTable();
        t.register(new HelpCommand());
        t.register(new InfoCommand(InfoCommand.standardSubcommands()));
        t.register(new StopCommand());
        t.register(new ContCommand());
        t.register(new SystemResetCommand());
        t.register(new SystemPowerdownCommand());
        t.register(new QuitCommand());
        return t;
    }

    /** Adds a command; a name or alias already taken is a programming error. */
    public synchronized CommandTable register(MonitorCommand command) {
        if (find(command.name()) != null) {
            throw new IllegalArgumentException("monitor command '" + command.name() + "' is already registered");
        }
        byName.put(command.name(), command);
        for (String a : command.aliases()) {
            if (find(a) != null) {
                throw new IllegalArgumentException("monitor command alias '" + a + "' is already registered");
            }
            byAlias.put(a, command);
        }
        return this;
    }

    /** Adds an "info" subcommand ("info migrate"): the command's name is the word after "info". */
    public CommandTable registerInfo(MonitorCommand subcommand) {
        if (!(find("info") instanceof InfoCommand info)) {
            throw new IllegalStateException("this command table has no 'info' command");
        }
        info.subcommands().register(subcommand);
        return this;
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
}
