package dev.jhv.core.trace;

import java.time.Duration;
import java.time.Instant;

/**
 * Start-up milestones on stderr when JHV_TRACE_STARTUP=1, in milliseconds since JHV_TRACE_T0 (epoch nanoseconds,
 * which ./jhv sets when tracing) or else since the JVM started. Off by default and then free.
 */
public final class StartupTrace {
    private static final boolean ENABLED = "1".equals(System.getenv("JHV_TRACE_STARTUP"));
    private static final Instant T0 = ENABLED ? origin() : null;

    private StartupTrace() { }

    /** Records that {@code what} has just happened. */
    public static void mark(String what) {
        if (ENABLED) {
            long ms = Duration.between(T0, Instant.now()).toNanos() / 1_000_000L;
            // no String.format: its first use costs milliseconds, which would be charged to the phase traced
            System.err.println(new StringBuilder("jhv-startup ").append(ms).append(" ms [")
                    .append(Thread.currentThread().getName()).append("] ").append(what));
        }
    }

    private static Instant origin() {
        String t0 = System.getenv("JHV_TRACE_T0");
        if (t0 != null && t0.matches("[0-9]{10,}")) {
            long ns = Long.parseLong(t0);
            return Instant.ofEpochSecond(ns / 1_000_000_000L, ns % 1_000_000_000L);
        }
        return Instant.ofEpochMilli(java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime());
    }
}
