package dev.jhv.launcher.command;

import dev.jhv.core.machine.MachineControl;
import java.util.List;

/**
 * A monitor operation: the QMP name ("query-status"), typed parameters, a handler that returns a value (a record,
 * a list of records, a string) or null for nothing, and optionally its HMP form. QMP serializes the value as JSON
 * (null as {}), HMP prints {@link Hmp#render()} of it. Register it with the monitors' command table.
 */
public record Operation<R>(String name, List<Parameter> parameters, Handler<R> handler, Hmp<R> hmp) {
    /** Runs the operation; failures are thrown ({@link CommandException}, or the machine's IllegalStateException). */
    @FunctionalInterface
    public interface Handler<R> {
        R run(MachineControl machine, Arguments args);
    }

    public Operation {
        parameters = List.copyOf(parameters);
    }

    /** A QMP-only operation. */
    public static <R> Operation<R> of(String name, List<Parameter> parameters, Handler<R> handler) {
        return new Operation<>(name, parameters, handler, null);
    }

    public static <R> Operation<R> of(String name, Handler<R> handler) {
        return of(name, List.of(), handler);
    }

    /** The same operation, also an HMP command. */
    public Operation<R> withHmp(Hmp<R> form) {
        return new Operation<>(name, parameters, handler, form);
    }

    public Parameter parameter(String n) {
        for (Parameter p : parameters) {
            if (p.name().equals(n)) {
                return p;
            }
        }
        return null;
    }
}
