package dev.jhv.launcher.monitor;

import dev.jhv.launcher.command.Arguments;
import dev.jhv.launcher.command.Operation;
import dev.jhv.launcher.command.Parameter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/** An operation's HMP form: binds the words typed to the operation's typed parameters and prints its result. */
final class OperationCommand<R> implements MonitorCommand {
    private final Operation<R> op;

    OperationCommand(Operation<R> op) {
        if (op.hmp() == null) {
            throw new IllegalArgumentException("operation '" + op.name() + "' has no HMP form");
        }
        this.op = op;
    }

    @Override
    public String name() {
        return op.hmp().name();
    }

    @Override
    public List<String> aliases() {
        return op.hmp().aliases();
    }

    @Override
    public List<Param> params() {
        var out = new ArrayList<Param>();
        for (Parameter p : op.parameters()) {
            out.add(new Param(p.name(), p.restOfLine(), p.optional()));
        }
        return out;
    }

    @Override
    public String help() {
        return op.hmp().help();
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        var values = new HashMap<String, Object>();
        for (Parameter p : op.parameters()) {
            if (args.has(p.name())) {
                values.put(p.name(), convert(p, args));
            }
        }
        R result = op.handler().run(ctx.machine(), new Arguments(values));
        String text = op.hmp().render().apply(result);
        if (text != null && !text.isEmpty()) {
            ctx.print(text);
        }
    }

    private static Object convert(Parameter p, Args args) {
        String v = args.get(p.name());
        return switch (p.type()) {
            case STRING -> v;
            case INTEGER -> args.getLong(p.name());
            case BOOLEAN -> switch (v) {
                case "on", "true", "yes" -> true;
                case "off", "false", "no" -> false;
                default -> throw new MonitorException("'" + p.name() + "' expects on or off, not '" + v + "'");
            };
            case STRING_LIST -> List.of(v.split(","));
            case OBJECT_LIST -> throw new MonitorException("'" + p.name() + "' cannot be given on HMP");
        };
    }

    static boolean isInfo(Operation<?> op) {
        return op.hmp() != null && op.hmp().info();
    }
}
