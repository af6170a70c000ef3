package dev.jhv.launcher.snapshot;

import dev.jhv.core.block.Drive;
import dev.jhv.launcher.monitor.Args;
import dev.jhv.launcher.monitor.MonitorCommand;
import dev.jhv.launcher.monitor.MonitorContext;
import dev.jhv.launcher.monitor.MonitorException;
import dev.jhv.launcher.monitor.Param;
import dev.jhv.migration.snapshot.InternalSnapshots;
import dev.jhv.migration.snapshot.SnapshotException;
import dev.jhv.qcow2.snapshot.Snapshot;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.function.Supplier;

/** The HMP snapshot commands: savevm, loadvm, delvm, info snapshots, info block. */
public final class SnapshotCommands {
    private SnapshotCommands() { }

    /** The commands, over the machine's snapshots and drives as they are when a command runs. */
    public static List<MonitorCommand> commands(Supplier<InternalSnapshots> snapshots) {
        return List.of(new SaveVm(snapshots), new LoadVm(snapshots), new DelVm(snapshots));
    }

    public static MonitorCommand infoSnapshots(Supplier<InternalSnapshots> snapshots) {
        return new InfoSnapshots(snapshots);
    }

    public static MonitorCommand infoBlock(Supplier<List<Drive>> drives) {
        return new InfoBlock(drives);
    }

    private static MonitorException failure(SnapshotException e) {
        return new MonitorException(e.getMessage());
    }

    private record SaveVm(Supplier<InternalSnapshots> snapshots) implements MonitorCommand {
        public String name() {
            return "savevm";
        }

        public List<Param> params() {
            return List.of(Param.optionalWord("tag"));
        }

        public String help() {
            return "save a VM snapshot. If no tag is provided, a new snapshot is created";
        }

        public void run(MonitorContext ctx, Args args) {
            try {
                snapshots.get().save(args.has("tag") ? args.get("tag") : null);
            } catch (SnapshotException e) {
                throw failure(e);
            }
        }
    }

    private record LoadVm(Supplier<InternalSnapshots> snapshots) implements MonitorCommand {
        public String name() {
            return "loadvm";
        }

        public List<Param> params() {
            return List.of(Param.word("tag"));
        }

        public String help() {
            return "restore a VM snapshot from its tag";
        }

        public void run(MonitorContext ctx, Args args) {
            // -loadvm loads during inmigrate; the monitor's loadvm must wait until an incoming stream has loaded
            ctx.machine().requireNotIncoming();
            try {
                snapshots.get().load(args.get("tag"));
            } catch (SnapshotException e) {
                throw failure(e);
            }
        }
    }

    private record DelVm(Supplier<InternalSnapshots> snapshots) implements MonitorCommand {
        public String name() {
            return "delvm";
        }

        public List<Param> params() {
            return List.of(Param.word("tag"));
        }

        public String help() {
            return "delete a VM snapshot from its tag";
        }

        public void run(MonitorContext ctx, Args args) {
            try {
                snapshots.get().delete(args.get("tag"));
            } catch (SnapshotException e) {
                throw failure(e);
            }
        }
    }

    private record InfoSnapshots(Supplier<InternalSnapshots> snapshots) implements MonitorCommand {
        public String name() {
            return "snapshots";
        }

        public String help() {
            return "show the currently saved VM snapshots";
        }

        public void run(MonitorContext ctx, Args args) {
            List<Snapshot> list;
            try {
                list = snapshots.get().list();
            } catch (SnapshotException e) {
                throw failure(e);
            }
            if (list.isEmpty()) {
                ctx.println("There is no snapshot available.");
                return;
            }
            ctx.println("List of snapshots present on all disks:");
            ctx.println(String.format("%-9s %-17s %7s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
                    "ICOUNT"));
            for (Snapshot s : list) {
                ctx.println(row(s));
            }
        }

        /** One line as QEMU prints it; the ID column shows "--" for snapshots present on all disks. */
        static String row(Snapshot s) {
            String date = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault())
                    .format(Instant.ofEpochSecond(s.dateSec()));
            long ms = s.vmClockNs() / 1_000_000;
            String clock = String.format("%02d:%02d:%02d.%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60,
                    ms % 1000);
            return String.format("%-9s %-17s %7s%20s%13s%11s", "--", s.name(), humanSize(s.vmStateSize()), date,
                    clock, "");
        }
    }

    /** QEMU's size_to_str: "0 B", "512 B", "3.82 MiB". */
    static String humanSize(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, units[u]);
    }

    private record InfoBlock(Supplier<List<Drive>> drives) implements MonitorCommand {
        public String name() {
            return "block";
        }

        public String help() {
            return "show the block devices";
        }

        public void run(MonitorContext ctx, Args args) {
            for (Drive d : drives.get()) {
                ctx.println(d.id() + ": " + d.file() + " (" + d.format() + (d.readOnly() ? ", read-only" : "") + ")");
                ctx.println("    Cache mode:       writeback");
            }
        }
    }
}
