package dev.jhv.migration.converge;

import java.util.ArrayList;
import java.util.List;

/**
 * Which vCPUs dirty memory. This host's KVM offers the dirty ring (KVM_CAP_DIRTY_LOG_RING and _ACQ_REL, 1 MiB),
 * which names the writing vCPU of every page, but on x86 it replaces the dirty bitmap the whole migration path is
 * built on (KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP is 0 here) and must be chosen before the first vCPU exists. So the
 * attribution is by run time: a vCPU writes guest memory only while it runs guest code, and a halted one sleeps in
 * the kernel; its share is the CPU time its thread got over the time it could have run (the period less what its
 * throttle made it sleep and what it waited for a host CPU), so that neither throttling a dirtier nor a loaded host
 * makes it look idle.
 */
final class VcpuActivity {
    /**
     * A vCPU that ran half as much as the busiest counts as dirtying, if the busiest ran at least this share of its
     * time (else none looks busy, and all are throttled).
     */
    static final double BUSY = 0.05;

    private final List<ThrottledVcpu> vcpus;
    private final long[] run;
    private final long[] slept;
    private final long[] waited;
    private long since;

    VcpuActivity(List<ThrottledVcpu> vcpus, long nowNanos) {
        this.vcpus = vcpus;
        this.run = new long[vcpus.size()];
        this.slept = new long[vcpus.size()];
        this.waited = new long[vcpus.size()];
        for (int i = 0; i < run.length; i++) {
            run[i] = vcpus.get(i).runNanos();
            slept[i] = vcpus.get(i).sleptNanos();
            waited[i] = vcpus.get(i).waitNanos();
        }
        this.since = nowNanos;
    }

    /** Each vCPU's run share (0..1) since the last call, and starts the next interval. */
    List<Double> sharesSince(long nowNanos) {
        long wall = Math.max(1, nowNanos - since);
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < run.length; i++) {
            long r = vcpus.get(i).runNanos();
            long s = vcpus.get(i).sleptNanos();
            long q = vcpus.get(i).waitNanos();
            long allowed = Math.max(wall / 1000, wall - (s - slept[i]) - (q - waited[i]));
            out.add(Math.min(1.0, (double) (r - run[i]) / allowed));
            run[i] = r;
            slept[i] = s;
            waited[i] = q;
        }
        since = nowNanos;
        return out;
    }

    /** Which vCPUs to throttle; when none looks busy, all (the dirtying comes from somewhere). */
    static List<Boolean> dirtiers(List<Double> shares) {
        double top = 0;
        for (double d : shares) {
            top = Math.max(top, d);
        }
        List<Boolean> out = new ArrayList<>();
        for (double d : shares) {
            out.add(top < BUSY || d >= top / 2);
        }
        return out;
    }
}
