package dev.jhv.launcher.monitor;

import java.util.List;

/** help|? [cmd]: every command's help line, or one command's ("help info" lists the info subcommands). */
final class HelpCommand implements MonitorCommand {
    @Override
    public String name() {
        return "help";
    }

    @Override
    public List<String> aliases() {
        return List.of("?");
    }

    @Override
    public List<Param> params() {
        return List.of(new Param("cmd", true, true));
    }

    @Override
    public String help() {
        return "show the help";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        if (!args.has("cmd")) {
            for (var c : ctx.commands().all()) {
                ctx.println(c.helpLine());
            }
            return;
        }
        var cursor = new Dispatcher.Cursor(args.get("cmd"));
        String name = cursor.word();
        var cmd = ctx.commands().find(name);
        if (cmd == null) {
            ctx.println("unknown command: '" + name + "'");
        } else if (cmd instanceof InfoCommand info) {
            info.printHelp(ctx, cursor.word());
        } else {
            ctx.println(cmd.helpLine());
        }
    }
}
