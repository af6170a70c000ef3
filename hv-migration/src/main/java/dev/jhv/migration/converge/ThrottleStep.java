package dev.jhv.migration.converge;

/** How far one high period raises a throttle: QEMU's rule, and jhv's for the vCPUs found dirtying. */
final class ThrottleStep {
    private ThrottleStep() { }

    /**
     * QEMU's mig_throttle_guest_down: the initial percentage first, then the increment each time; with tailslow the
     * increment shrinks to what would bring the dirtied bytes down to the threshold; never above max-cpu-throttle.
     */
    static int qemu(int now, ThrottleSettings s, long dirtyBytes, long thresholdBytes) {
        if (now == 0) {
            return Math.min(s.initialPct(), s.maxPct());
        }
        int inc = s.incrementPct();
        if (s.tailslow() && dirtyBytes > 0) {
            int cpuNow = 100 - now;
            int cpuIdeal = (int) (cpuNow * ((double) thresholdBytes / dirtyBytes));
            inc = Math.min(cpuNow - cpuIdeal, inc);
        }
        return Math.min(now + inc, s.maxPct());
    }

    /**
     * jhv's, for a vCPU that dirties (the others are not throttled at all, so this one can be cut hard): at least
     * QEMU's step, and at once to the share of CPU that would bring its dirtying to a quarter of the threshold,
     * assuming the dirtied bytes scale with the CPU it gets (measured: half the threshold left a 1 GiB writer at 63%
     * and the migration 6 s past its first pass).
     */
    static int dirtier(int now, ThrottleSettings s, long dirtyBytes, long thresholdBytes) {
        int step = qemu(now, s, dirtyBytes, thresholdBytes);
        if (dirtyBytes <= 0) {
            return step;
        }
        double cpuNow = 100 - now;
        double cpuIdeal = cpuNow * thresholdBytes / dirtyBytes / 4;
        int ideal = (int) Math.ceil(100 - cpuIdeal);
        return Math.min(Math.max(step, ideal), s.maxPct());
    }
}
