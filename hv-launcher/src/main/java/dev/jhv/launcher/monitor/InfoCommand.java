package dev.jhv.launcher.monitor;

import java.util.List;

/** info [subcommand]: the info subcommands are commands of their own, in a table of their own. */
final class InfoCommand implements MonitorCommand {
    private final CommandTable subcommands;

    InfoCommand(CommandTable subcommands) {
        this.subcommands = subcommands;
    }

    /** The info subcommands, for later features to add theirs ("info migrate"). */
    CommandTable subcommands() {
        return subcommands;
    }

    @Override
    public String name() {
        return "info";
    }

    @Override
    public List<Param> params() {
        return List.of(new Param("subcommand", true, true));
    }

    @Override
    public String help() {
        return "show various information about the system state";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        if (!args.has("subcommand")) {
            printHelp(ctx, null);
            return;
        }
        Dispatcher.execute(ctx, subcommands, args.get("subcommand"), "info ");
    }

    /** "info status  -- show ..." for one subcommand, or all of them. */
    void printHelp(MonitorContext ctx, String sub) {
        if (sub != null) {
            var c = subcommands.find(sub);
            if (c == null) {
                ctx.println("unknown command: 'info " + sub + "'");
            } else {
                ctx.println("info " + c.helpLine());
            }
            return;
        }
        for (var c : subcommands.all()) {
            ctx.println("info " + c.helpLine());
        }
    }
}
