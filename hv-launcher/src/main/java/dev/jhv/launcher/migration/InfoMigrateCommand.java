package dev.jhv.launcher.migration;

import dev.jhv.migration.control.Migration;
import dev.jhv.migration.control.MigrationStatus;
import dev.jhv.migration.control.MigrationStatus.MigrationInfo;
import dev.jhv.launcher.monitor.Args;
import dev.jhv.launcher.monitor.MonitorCommand;
import dev.jhv.launcher.monitor.MonitorContext;

import java.util.Locale;

/**
 * info migrate: QEMU 7.2's layout and wording (globals, status, times, RAM figures), then what QEMU lacks: the
 * downtime split into its phases and, while active, the dirty rate against the bandwidth with a hint when the
 * migration cannot converge at the current settings.
 */
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
        ctx.print(render(migration.status().info(), migration.parameters().downtimeLimitMs()));
    }

    static String render(MigrationInfo i, long downtimeLimitMs) {
        StringBuilder sb = new StringBuilder();
        sb.append("globals:\nstore-global-state: on\nonly-migratable: off\nsend-configuration: on\n"
                + "send-section-footer: on\ndecompress-error-check: on\nclear-bitmap-shift: 18\n");
        if (i.incoming()) {
            // a destination, as QEMU 7.2 shows one: its state (no figures, total time 0) and where it listens
            if (i.state() != MigrationStatus.State.NONE) {
                sb.append("Migration status: ").append(i.state().qemuName()).append('\n');
                sb.append("total time: 0 ms\n");
            }
            var pc = i.postcopy();
            if (pc != null) {
                // QEMU's line (the destination's summed fault wait, ms), then jhv's per-fault figures
                sb.append("postcopy blocktime: ").append(pc.blocktimeMs()).append('\n');
                sb.append(String.format("jhv postcopy faults: %d pages requested, %d placed, latency avg %d us, "
                        + "max %d us%n", pc.faults(), pc.pagesPlaced(), pc.latencyAvgMicros(),
                        pc.latencyMaxMicros()));
            }
            if (i.socketAddress() != null) {
                sb.append("socket address: [\n\t").append(i.socketAddress()).append("\n]\n");
            }
            return sb.toString();
        }
        if (i.state() == MigrationStatus.State.NONE) {
            return sb.toString();
        }
        sb.append("Migration status: ").append(i.state().qemuName());
        if (i.state() == MigrationStatus.State.FAILED && i.error() != null) {
            sb.append(" (").append(i.error()).append(')');
        }
        sb.append('\n');
        sb.append("total time: ").append(i.totalTimeMs()).append(" ms\n");
        boolean active = i.state() == MigrationStatus.State.ACTIVE || i.state() == MigrationStatus.State.SETUP;
        if (active) {
            sb.append("expected downtime: ").append(i.expectedDowntimeMs() < 0 ? downtimeLimitMs
                    : Math.min(i.expectedDowntimeMs(), 99_999_999L)).append(" ms\n");
        } else if (i.state() == MigrationStatus.State.COMPLETED) {
            sb.append("downtime: ").append(i.downtimeMs()).append(" ms\n");
        }
        if (i.state() == MigrationStatus.State.CANCELLED || i.state() == MigrationStatus.State.FAILED
                || i.state() == MigrationStatus.State.CANCELLING) {
            return sb.toString();
        }
        sb.append("setup: ").append(i.setupTimeMs()).append(" ms\n");
        sb.append("transferred ram: ").append(i.transferredBytes() / 1024).append(" kbytes\n");
        sb.append(String.format(Locale.ROOT, "throughput: %.2f mbps%n", i.throughputMbps()));
        sb.append("remaining ram: ").append(i.remainingBytes() / 1024).append(" kbytes\n");
        sb.append("total ram: ").append(i.totalBytes() / 1024).append(" kbytes\n");
        sb.append("duplicate: ").append(i.duplicatePages()).append(" pages\n");
        sb.append("skipped: 0 pages\n");
        sb.append("normal: ").append(i.normalPages()).append(" pages\n");
        sb.append("normal bytes: ").append(i.normalBytes() / 1024).append(" kbytes\n");
        sb.append("dirty sync count: ").append(i.dirtySyncCount()).append('\n');
        sb.append("page size: 4 kbytes\n");
        sb.append("multifd bytes: ").append(i.multifd().bytes() / 1024).append(" kbytes\n");
        sb.append("pages-per-second: ").append(i.pagesPerSecond()).append('\n');
        if (active && i.dirtySyncCount() > 1) {
            sb.append("dirty pages rate: ").append(i.dirtyPagesRate()).append(" pages\n");
        }
        if (i.postcopy() != null && i.postcopy().requests() > 0) {
            sb.append("postcopy request count: ").append(i.postcopy().requests()).append('\n');
        }
        sb.append("precopy ram: ").append(i.precopyBytes() / 1024).append(" kbytes\n");
        if (i.state() == MigrationStatus.State.COMPLETED) {
            sb.append("downtime ram: ").append(i.downtimeBytes() / 1024).append(" kbytes\n");
            if (i.postcopy() != null && i.postcopy().bytes() > 0) {
                sb.append("postcopy ram: ").append(i.postcopy().bytes() / 1024).append(" kbytes\n");
            }
        }
        xbzrle(sb, i.xbzrle());
        if (i.state() == MigrationStatus.State.COMPLETED) {
            var d = i.downtime();
            if (d != null) {
                sb.append(String.format("jhv downtime: pause %d ms, final sync %d ms, ram %d ms, device state %d ms,"
                        + " destination load and resume %d ms%n", d.pauseMs(), d.finalSyncMs(), d.ramMs(),
                        d.deviceMs(), d.destinationMs()));
            }
        }
        var throttle = i.cpuThrottle();
        if (throttle != null) {
            sb.append("cpu throttle percentage: ").append(throttle.percent()).append('\n');
            sb.append("jhv cpu throttle:");
            for (int c = 0; c < throttle.perVcpu().size(); c++) {
                sb.append(c == 0 ? " " : ", ").append("cpu ").append(c).append(' ').append(throttle.perVcpu().get(c))
                        .append('%');
                if (c < throttle.runPercent().size()) {
                    sb.append(" (ran ").append(throttle.runPercent().get(c)).append("%)");
                }
            }
            sb.append('\n');
        }
        if (active && i.dirtySyncCount() > 0 && i.bandwidthBytesPerSecond() > 0) {
            long dirtyBytes = i.dirtyPagesRate() * 4096;
            sb.append(String.format(Locale.ROOT, "jhv dirty rate: %.1f MiB/s against a bandwidth of %.1f MiB/s%n",
                    dirtyBytes / 1048576.0, i.bandwidthBytesPerSecond() / 1048576.0));
            if (dirtyBytes >= i.bandwidthBytesPerSecond()) {
                sb.append("jhv hint: the guest dirties memory as fast as the link carries it: this migration will"
                        + " not converge at these settings (raise max-bandwidth or downtime-limit, or stop the "
                        + "guest)\n");
            }
        }
        return sb.toString();
    }

    /** QEMU 7.2's XBZRLE block, after the RAM figures, with the xbzrle capability on. */
    private static void xbzrle(StringBuilder sb, MigrationStatus.XbzrleCache x) {
        if (x == null) {
            return;
        }
        sb.append("cache size: ").append(x.cacheSize()).append(" bytes\n");
        sb.append("xbzrle transferred: ").append(x.bytes() >> 10).append(" kbytes\n");
        sb.append("xbzrle pages: ").append(x.pages()).append(" pages\n");
        sb.append("xbzrle cache miss: ").append(x.cacheMiss()).append(" pages\n");
        sb.append(String.format(Locale.ROOT, "xbzrle cache miss rate: %.2f%n", x.cacheMissRate()));
        sb.append(String.format(Locale.ROOT, "xbzrle encoding rate: %.2f%n", x.encodingRate()));
        sb.append("xbzrle overflow: ").append(x.overflow()).append('\n');
    }
}
