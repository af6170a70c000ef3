package dev.jhv.migration.control;

/**
 * Precopy's switchover decision, pass by pass: the bandwidth a pass achieved (a pass too small to measure keeps
 * the last figure), the downtime expected if the guest stopped now (what is left to send, plus what the
 * destination has yet to read, over that bandwidth), and whether that fits downtime-limit.
 *
 * @param bandwidth   bytes per second measured so far (0: not yet)
 * @param expectedMs  the downtime stopping now would cost, in ms ({@link Long#MAX_VALUE}: unknown, no bandwidth)
 */
public record SwitchoverEstimate(long bandwidth, long expectedMs) {
    /** Below this a pass says more about latency than about bandwidth. */
    static final long MIN_MEASURED_BYTES = 64 * 1024;

    public static final SwitchoverEstimate NONE = new SwitchoverEstimate(0, Long.MAX_VALUE);

    /**
     * The estimate after a pass.
     *
     * @param passBytes    bytes the pass put on the wire
     * @param passNanos    how long the pass took
     * @param pendingBytes what is dirty and unsent after the pass's sync
     * @param backlogBytes what the destination has not read yet (0 if it does not say)
     */
    public SwitchoverEstimate next(long passBytes, long passNanos, long pendingBytes, long backlogBytes) {
        long bw = passBytes >= MIN_MEASURED_BYTES && passNanos > 0 ? (long) (passBytes * 1e9 / passNanos) : bandwidth;
        long remaining = pendingBytes + Math.max(0, backlogBytes);
        long expected = remaining == 0 ? 0 : bw > 0 ? remaining * 1000 / bw : Long.MAX_VALUE;
        return new SwitchoverEstimate(bw, expected);
    }

    /** Whether the guest may stop now: the expected downtime is within {@code downtimeLimitMs}. */
    public boolean fits(long downtimeLimitMs) {
        return expectedMs <= downtimeLimitMs;
    }
}
