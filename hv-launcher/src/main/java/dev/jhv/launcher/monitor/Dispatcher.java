package dev.jhv.launcher.monitor;

import java.util.HashMap;

/** Splits a command line, finds the command, binds its arguments, runs it; errors are printed QEMU's way. */
final class Dispatcher {
    private static final System.Logger LOG = System.getLogger(Dispatcher.class.getName());

    private Dispatcher() { }

    /** Runs {@code line} from {@code table}; {@code prefix} ("info ") is shown in "unknown command" errors. */
    static void execute(MonitorContext ctx, CommandTable table, String line, String prefix) {
        var cursor = new Cursor(line);
        String name = cursor.word();
        if (name == null) {
            return;
        }
        MonitorCommand cmd = table.find(name);
        if (cmd == null) {
            ctx.println("unknown command: '" + prefix + name + "'");
            return;
        }
        String names = prefix + String.join("|", concat(cmd));
        var values = new HashMap<String, String>();
        for (Param p : cmd.params()) {
            String v = p.rest() ? cursor.rest() : cursor.word();
            if (v == null) {
                if (p.optional()) {
                    continue;
                }
                ctx.println(names + ": " + p.name() + " expected");
                ctx.println("Try \"help " + prefix + cmd.name() + "\" for more information");
                return;
            }
            values.put(p.name(), v);
        }
        if (!cursor.atEnd()) {
            ctx.println(names + ": extraneous characters at the end of line");
            ctx.println("Try \"help " + prefix + cmd.name() + "\" for more information");
            return;
        }
        try {
            cmd.run(ctx, new Args(values));
        } catch (MonitorException | dev.jhv.launcher.command.CommandException | IllegalStateException | IllegalArgumentException
                 | UnsupportedOperationException e) {
            ctx.println("Error: " + e.getMessage());
        } catch (RuntimeException e) {
            // a bug: one line for the person at the monitor, the trace only in the debug log
            LOG.log(System.Logger.Level.DEBUG, "monitor command '" + line.strip() + "' failed", e);
            ctx.println("Error: " + (e.getMessage() == null ? "internal error in '" + cmd.name() + "'"
                    : e.getMessage()));
        }
    }

    private static java.util.List<String> concat(MonitorCommand cmd) {
        var all = new java.util.ArrayList<String>();
        all.add(cmd.name());
        all.addAll(cmd.aliases());
        return all;
    }

    /** Reads words (or "quoted strings") off a line. */
    static final class Cursor {
        private final String line;
        private int pos;

        Cursor(String line) {
            this.line = line;
        }

        private void skipSpaces() {
            while (pos < line.length() && Character.isWhitespace(line.charAt(pos))) {
                pos++;
            }
        }

        boolean atEnd() {
            skipSpaces();
            return pos >= line.length();
        }

        /** The next word, or null at the end of the line. */
        String word() {
            if (atEnd()) {
                return null;
            }
            var sb = new StringBuilder();
            if (line.charAt(pos) == '"') {
                pos++;
                while (pos < line.length() && line.charAt(pos) != '"') {
                    char c = line.charAt(pos++);
                    if (c == '\\' && pos < line.length()) {
                        c = line.charAt(pos++);
                    }
                    sb.append(c);
                }
                pos++;  // closing quote (or end of line)
                return sb.toString();
            }
            while (pos < line.length() && !Character.isWhitespace(line.charAt(pos))) {
                sb.append(line.charAt(pos++));
            }
            return sb.toString();
        }

        /** Everything left, trimmed, or null when nothing is left. */
        String rest() {
            if (atEnd()) {
                return null;
            }
            String r = line.substring(pos).strip();
            pos = line.length();
            return r;
        }
    }
}
