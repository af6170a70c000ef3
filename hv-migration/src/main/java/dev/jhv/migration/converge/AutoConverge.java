package dev.jhv.migration.converge;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * auto-converge for one outgoing migration: adds up each dirty-sync period's dirtied and sent bytes and, when the
 * guest dirtied more than throttle-trigger-threshold percent of what was sent, throttles its vCPUs.
 * <p>
 * QEMU's way (x-per-vcpu-throttle off): periods of at least a second, ending at a dirty sync (one per pass); a
 * second high period (counted since the last step) raises one throttle shared by all vCPUs ({@link ThrottleStep#qemu}).
 * <p>
 * jhv's (on): the migration syncs every second within a pass too ({@link #periodDue}), each high period acts, and
 * only the vCPUs that dirty are throttled, hard ({@link ThrottleStep#dirtier}); the others run freely. As in QEMU
 * a throttle never goes down before the migration ends: a vCPU throttled to 99% runs 10 ms a second, too little to
 * tell within a period whether it still dirties (measured: released, it dirtied a whole period at full speed). A vCPU can
 * dirty only while it runs guest code, so the dirtied bytes of a period are put down to the vCPUs in proportion to
 * the share of their unthrottled time they ran ({@link VcpuActivity}); one that halts (idle) gets none.
 * <p>
 * {@link #stop} ends every throttle; the migration calls it whatever its outcome.
 */
public final class AutoConverge {
    static final long PERIOD_NANOS = 1_000_000_000L;

    private final List<ThrottledVcpu> vcpus;
    private final Supplier<ThrottleSettings> settings;
    private final VcpuActivity activity;
    private long periodStart;
    private long periodDirty;
    private long periodSentFrom;
    private int highCount;
    private List<Double> lastShares = List.of();
    private boolean stopped;

    public AutoConverge(List<ThrottledVcpu> vcpus, Supplier<ThrottleSettings> settings, long nowNanos,
                        long sentBytes) {
        this.vcpus = List.copyOf(vcpus);
        this.settings = settings;
        this.activity = new VcpuActivity(this.vcpus, nowNanos);
        this.periodStart = nowNanos;
        this.periodSentFrom = sentBytes;
    }

    /** jhv's way only: a second has passed since the period began, so the migration should sync now. */
    public synchronized boolean periodDue(long nowNanos) {
        return !stopped && settings.get().perVcpu() && nowNanos - periodStart >= PERIOD_NANOS;
    }

    /**
     * After a dirty sync: {@code dirtiedBytes} newly found dirty by it, {@code sentBytes} the stream's total so far.
     * A period of a second or more is judged; a shorter one goes on (as QEMU's bitmap sync does).
     */
    public synchronized void synced(long dirtiedBytes, long sentBytes, long nowNanos) {
        if (stopped) {
            return;
        }
        periodDirty += dirtiedBytes;
        if (nowNanos - periodStart < PERIOD_NANOS) {
            return;
        }
        ThrottleSettings s = settings.get();
        long threshold = (sentBytes - periodSentFrom) * s.thresholdPct() / 100;
        List<Double> shares = activity.sharesSince(nowNanos);
        lastShares = shares;
        if (periodDirty > threshold && ++highCount >= (s.perVcpu() ? 1 : 2)) {
            highCount = 0;
            throttleDown(s, periodDirty, threshold, shares);
        }
        periodStart = nowNanos;
        periodDirty = 0;
        periodSentFrom = sentBytes;
    }

    private void throttleDown(ThrottleSettings s, long dirty, long threshold, List<Double> shares) {
        if (!s.perVcpu()) {
            int next = ThrottleStep.qemu(percent(), s, dirty, threshold);
            vcpus.forEach(v -> v.set(next));
            return;
        }
        List<Boolean> dirtying = VcpuActivity.dirtiers(shares);
        for (int i = 0; i < vcpus.size(); i++) {
            ThrottledVcpu v = vcpus.get(i);
            if (dirtying.get(i)) {
                v.set(ThrottleStep.dirtier(v.percent(), s, dirty, threshold));
            }
        }
    }

    /** The highest throttle of any vCPU ("cpu throttle percentage"); 0 when none is throttled. */
    public synchronized int percent() {
        int p = 0;
        for (ThrottledVcpu v : vcpus) {
            p = Math.max(p, v.percent());
        }
        return p;
    }

    /** Each vCPU's throttle, by vCPU index order. */
    public synchronized List<Integer> percents() {
        List<Integer> out = new ArrayList<>();
        vcpus.forEach(v -> out.add(v.percent()));
        return out;
    }

    /** Each vCPU's share of its unthrottled time that it ran, in the last judged period (percent). */
    public synchronized List<Integer> runPercents() {
        List<Integer> out = new ArrayList<>();
        lastShares.forEach(d -> out.add((int) Math.round(d * 100)));
        return out;
    }

    /** Ends every throttle at once; later periods do nothing. */
    public synchronized void stop() {
        stopped = true;
        vcpus.forEach(v -> v.set(0));
    }
}
