package dev.jhv.migration.control;

/**
 * The current or last outgoing migration's state and figures, written by the migration thread and read by the
 * monitors ({@link #info()} gives a consistent snapshot).
 */
public final class MigrationStatus {
    /** QEMU's migration states (the ones jhv passes through). */
    public enum State {
        NONE, SETUP, ACTIVE, CANCELLING, CANCELLED, FAILED, COMPLETED, POSTCOPY_ACTIVE, POSTCOPY_PAUSED,
        POSTCOPY_RECOVER;

        /** QEMU's spelling ("active", "cancelling", "postcopy-active", ...). */
        public String qemuName() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }

        public boolean running() {
            return this == SETUP || this == ACTIVE || this == CANCELLING || postcopy();
        }

        /** After the switch to postcopy: the destination runs the guest. */
        public boolean postcopy() {
            return this == POSTCOPY_ACTIVE || this == POSTCOPY_PAUSED || this == POSTCOPY_RECOVER;
        }
    }

    /** Where the downtime went: from pausing the guest to the destination's acknowledgement. */
    public record Downtime(long pauseMs, long finalSyncMs, long ramMs, long deviceMs, long destinationMs) { }

    /**
     * What "info migrate" and query-migrate show. Byte figures are bytes; rates per second; -1 where a figure does
     * not apply yet.
     */
    public record MigrationInfo(State state, String error, long totalTimeMs, long setupTimeMs, long expectedDowntimeMs,
                                long downtimeMs, long transferredBytes, double throughputMbps, long remainingBytes,
                                long totalBytes, long duplicatePages, long normalPages, long normalBytes,
                                long dirtySyncCount, long pagesPerSecond, long dirtyPagesRate, long precopyBytes,
                                long downtimeBytes, long bandwidthBytesPerSecond, Downtime downtime,
                                boolean incoming, String socketAddress, XbzrleCache xbzrle,
                                CpuThrottle cpuThrottle, Multifd multifd, Postcopy postcopy) { }

    /** QEMU's xbzrle-cache figures (null when the xbzrle capability is off): bytes, pages, rates per sync period. */
    public record XbzrleCache(long cacheSize, long bytes, long pages, long cacheMiss, double cacheMissRate,
                              double encodingRate, long overflow) { }

    private XbzrleCache xbzrle;

    /** The XBZRLE figures now (null: xbzrle off). */
    public synchronized void xbzrle(XbzrleCache x) {
        xbzrle = x;
    }

    /**
     * auto-converge while it throttles: the highest percentage (QEMU's "cpu throttle percentage"), each vCPU's, and
     * each vCPU's share of its unthrottled time that it ran in the last period (how jhv tells the dirtying ones).
     */
    public record CpuThrottle(int percent, java.util.List<Integer> perVcpu, java.util.List<Integer> runPercent) { }

    /** multifd's figures: the bytes its channels carried (part of the transferred bytes, as QEMU counts them). */
    public record Multifd(long bytes) {
        public static final Multifd NONE = new Multifd(0);
    }

    private Multifd multifd = Multifd.NONE;

    /** The bytes the multifd channels have carried so far (included in the transferred bytes given to progress). */
    public synchronized void multifd(long bytes) {
        multifd = new Multifd(bytes);
    }

    /**
     * Postcopy's figures (null before a switch to postcopy). Source: the destination's page requests and the bytes
     * sent after the switch. Destination: the pages its guest faulted on and asked for, how long a fault waited for
     * its page (average and worst), the sum of those waits (QEMU's postcopy blocktime, in ms) and the pages placed.
     */
    public record Postcopy(long requests, long bytes, long faults, long latencyAvgMicros, long latencyMaxMicros,
                           long blocktimeMs, long pagesPlaced) { }

    /** Told of every state a migration enters and every dirty pass it begins (QMP's MIGRATION events). */
    public interface Listener {
        void state(State state);

        void pass(long pass);
    }

    private volatile Listener listener;

    public void setListener(Listener l) {
        listener = l;
    }

    private void enter(State s) {
        state = s;
        Listener l = listener;
        if (l != null) {
            l.state(s);
        }
    }

    private State state = State.NONE;
    private String error;
    private long startNanos;
    private long endNanos;
    private long setupMs;
    private long expectedDowntimeMs = -1;
    private long downtimeMs = -1;
    private long transferred;
    private long remaining;
    private long total;
    private long duplicate;
    private long normal;
    private long dirtySyncCount;
    private long pagesPerSecond;
    private long dirtyPagesRate;
    private long downtimeBytes;
    private long bandwidth;
    private Downtime phases;
    /** This machine is (or was) a destination: QEMU shows only the state and where it listens. */
    private boolean incoming;
    private String socketAddress;
    private java.util.function.Supplier<CpuThrottle> cpuThrottle = () -> null;

    /** Where the throttle's figures come from while auto-converge runs; null: none. */
    public synchronized void cpuThrottle(java.util.function.Supplier<CpuThrottle> source) {
        cpuThrottle = source != null ? source : () -> null;
    }

    private java.util.function.Supplier<Postcopy> postcopy;

    /** From the switch to postcopy: its figures, read when shown; the state becomes postcopy-active. */
    public synchronized void postcopyActive(java.util.function.Supplier<Postcopy> figures) {
        postcopy = figures;
        enter(State.POSTCOPY_ACTIVE);
    }

    /** The link broke in postcopy: both sides wait for a recovery (the destination's guest runs on). */
    public synchronized void postcopyPaused() {
        enter(State.POSTCOPY_PAUSED);
    }

    /** A recovery is under way (migrate -r on the source, migrate_recover on the destination). */
    public synchronized void postcopyRecover() {
        enter(State.POSTCOPY_RECOVER);
    }

    /** A recovery that has the link again: back to postcopy-active. */
    public synchronized void postcopyResumed() {
        enter(State.POSTCOPY_ACTIVE);
    }

    /** A destination listening on {@code address} (null: not a socket), no source yet. */
    public synchronized void incomingListening(String address) {
        incoming = true;
        socketAddress = address;
    }

    /** A destination whose source has come: loading. */
    public synchronized void incomingActive() {
        incoming = true;
        startNanos = System.nanoTime();
        enter(State.ACTIVE);
    }

    /** A destination that loaded the whole stream and handed the guest on (running, or paused with -S). */
    public synchronized void incomingCompleted() {
        socketAddress = null;
        enter(State.COMPLETED);
    }

    /** A destination whose load failed. */
    public synchronized void incomingFailed(String why) {
        socketAddress = null;
        error = why;
        enter(State.FAILED);
    }

    public synchronized void begin(long ramBytes) {
        incoming = false;
        socketAddress = null;
        enter(State.SETUP);
        error = null;
        startNanos = System.nanoTime();
        endNanos = 0;
        setupMs = 0;
        expectedDowntimeMs = -1;
        downtimeMs = -1;
        transferred = 0;
        remaining = ramBytes;
        total = ramBytes;
        duplicate = normal = dirtySyncCount = pagesPerSecond = dirtyPagesRate = downtimeBytes = 0;
        bandwidth = 0;
        phases = null;
        xbzrle = null;
        multifd = Multifd.NONE;
        postcopy = null;
    }

    public synchronized void active() {
        if (state == State.SETUP) {
            enter(State.ACTIVE);
        }
        setupMs = (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** Figures of the pass under way or just done. */
    public synchronized void progress(long transferredBytes, long remainingBytes, long duplicatePages,
                                      long normalPages, long pagesPerSec) {
        transferred = transferredBytes;
        remaining = remainingBytes;
        duplicate = duplicatePages;
        normal = normalPages;
        pagesPerSecond = pagesPerSec;
    }

    /** After a dirty sync: its count, the rate pages were dirtied at, the bandwidth seen and the estimate. */
    public synchronized void synced(long syncCount, long dirtyRate, long bandwidthBytesPerSecond, long expectedMs) {
        dirtySyncCount = syncCount;
        dirtyPagesRate = dirtyRate;
        bandwidth = bandwidthBytesPerSecond;
        expectedDowntimeMs = expectedMs;
        dirtySynced(syncCount);
    }

    /** A dirty sync, numbered as QEMU's dirty-sync-count (MIGRATION_PASS carries the same number). */
    public synchronized void dirtySynced(long syncCount) {
        dirtySyncCount = syncCount;
        Listener l = listener;
        if (l != null) {
            l.pass(syncCount);
        }
    }

    public synchronized void cancelling() {
        if (state.running()) {
            enter(State.CANCELLING);
        }
    }

    public synchronized void completed(long transferredBytes, long downtimeBytes, Downtime downtime) {
        enter(State.COMPLETED);
        transferred = transferredBytes;
        this.downtimeBytes = downtimeBytes;
        remaining = 0;
        phases = downtime;
        downtimeMs = downtime.pauseMs() + downtime.finalSyncMs() + downtime.ramMs() + downtime.deviceMs()
                + downtime.destinationMs();
        endNanos = System.nanoTime();
    }

    public synchronized void failed(String why) {
        error = why;
        enter(State.FAILED);
        endNanos = System.nanoTime();
    }

    public synchronized void cancelled() {
        enter(State.CANCELLED);
        endNanos = System.nanoTime();
    }

    public synchronized State state() {
        return state;
    }

    public synchronized MigrationInfo info() {
        long end = endNanos != 0 ? endNanos : System.nanoTime();
        long totalMs = state == State.NONE || incoming ? 0 : (end - startNanos) / 1_000_000;
        double seconds = Math.max(1e-9, (end - startNanos) / 1e9);
        double mbps = transferred * 8 / 1e6 / seconds;
        return new MigrationInfo(state, error, totalMs, setupMs, expectedDowntimeMs, downtimeMs, transferred, mbps,
                remaining, total, duplicate, normal, normal * 4096, dirtySyncCount, pagesPerSecond, dirtyPagesRate,
                transferred - downtimeBytes, downtimeBytes, bandwidth, phases, incoming, socketAddress,
                xbzrle, state.running() ? cpuThrottle.get() : null, multifd,
                postcopy == null ? null : postcopy.get());
    }
}
