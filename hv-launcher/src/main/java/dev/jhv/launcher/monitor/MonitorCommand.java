package dev.jhv.launcher.monitor;

import java.util.List;

/**
 * One HMP command: a class per command, registered in a {@link CommandTable}.
 * {@link #run} reports failures by throwing {@link MonitorException} (or IllegalStateException from the machine);
 * the monitor prints the message and stays usable.
 */
public interface MonitorCommand {
    String name();

    /** Short names ("c" for "cont"). */
    default List<String> aliases() {
        return List.of();
    }

    default List<Param> params() {
        return List.of();
    }

    /** The help line's text after " -- ". */
    String help();

    void run(MonitorContext ctx, Args args);

    /** "cont|c  -- resume emulation" as QEMU's help prints it. */
    default String helpLine() {
        var names = new StringBuilder(name());
        for (String a : aliases()) {
            names.append('|').append(a);
        }
        var params = new StringBuilder();
        for (Param p : params()) {
            if (!params.isEmpty()) {
                params.append(' ');
            }
            params.append(p.display());
        }
        return names + " " + params + " -- " + help();
    }
}
