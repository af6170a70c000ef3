package dev.jhv.launcher.command;

import java.util.List;
import java.util.function.Function;

/**
 * How an operation shows on the HMP monitor: its command name ("stop", or "status" for "info status"), aliases,
 * help text, and the text its result prints (with "\n" line ends; "" for nothing). The HMP arguments are the
 * operation's parameters, in order, one word each (or the rest of the line).
 *
 * @param info true: an "info" subcommand
 */
public record Hmp<R>(String name, boolean info, List<String> aliases, String help, Function<? super R, String> render) {
    public Hmp {
        aliases = List.copyOf(aliases);
    }

    /** A top-level command that prints nothing ("stop"). */
    public static <R> Hmp<R> command(String name, String help) {
        return new Hmp<>(name, false, List.of(), help, r -> "");
    }

    public static <R> Hmp<R> command(String name, String help, Function<? super R, String> render) {
        return new Hmp<>(name, false, List.of(), help, render);
    }

    /** An "info NAME" subcommand. */
    public static <R> Hmp<R> info(String name, String help, Function<? super R, String> render) {
        return new Hmp<>(name, true, List.of(), help, render);
    }

    public Hmp<R> withAliases(String... more) {
        return new Hmp<>(name, info, List.of(more), help, render);
    }
}
