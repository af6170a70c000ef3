package dev.jhv.launcher.migration;

import dev.jhv.migration.control.Migration;
import dev.jhv.core.machine.Machine;
import dev.jhv.launcher.monitor.Args;
import dev.jhv.launcher.monitor.MonitorCommand;
import dev.jhv.launcher.monitor.MonitorContext;
import dev.jhv.launcher.monitor.MonitorException;
import dev.jhv.launcher.monitor.Param;

import java.util.List;
import java.util.function.Supplier;

/** migrate [-d] uri: a live migration to tcp:, unix:, fd:, exec: or file:; without -d it waits for the end. */
public final class MigrateCommand implements MonitorCommand {
    private final Supplier<Machine> machine;
    private final Migration migration;

    public MigrateCommand(Supplier<Machine> machine, Migration migration) {
        this.machine = machine;
        this.migration = migration;
    }

    @Override
    public String name() {
        return "migrate";
    }

    @Override
    public List<Param> params() {
        return List.of(Param.restOfLine("[-d] [-r] uri"));
    }

    @Override
    public String help() {
        return "migrate to URI (using -d to not wait for completion)\n\t\t\t -r to resume a paused postcopy migration";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        String line = args.get("[-d] [-r] uri").strip();
        boolean detach = false;
        boolean resume = false;
        while (line.startsWith("-")) {
            int sp = line.indexOf(' ');
            String flag = sp < 0 ? line : line.substring(0, sp);
            switch (flag) {
                case "-d" -> detach = true;
                case "-r" -> resume = true;
                case "-b", "-i" -> throw new MonitorException("migrate: " + flag
                        + ": block migration is not supported yet");
                default -> throw new MonitorException("migrate: unknown option '" + flag + "'");
            }
            line = sp < 0 ? "" : line.substring(sp + 1).strip();
        }
        if (line.isEmpty()) {
            throw new MonitorException("migrate: missing URI");
        }
        try {
            if (resume) {
                migration.resume(line); // postcopy recovery: returns at once, as QEMU's migrate -r
                return;
            }
            migration.migrate(machine.get(), line, detach);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new MonitorException(e.getMessage());
        }
    }
}
