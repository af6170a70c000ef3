package dev.jhv.launcher.migration;

import dev.jhv.migration.control.Migration;
import dev.jhv.launcher.monitor.Args;
import dev.jhv.launcher.monitor.MonitorCommand;
import dev.jhv.launcher.monitor.MonitorContext;

/** info migrate: the last migration's status and figures. */
public final class InfoMigrateCommand implements MonitorCommand {
    private final Migration migration;

    public InfoMigrateCommand(Migration migration) {
        this.migration = migration;
    }

    @Override
    public String name() {
        return "migrate";
    }

    @Override
    public String help() {
        return "show migration status";
    }

    @Override
    public void run(MonitorContext ctx, Args args) {
        ctx.print(migration.status().describe());
    }
}
