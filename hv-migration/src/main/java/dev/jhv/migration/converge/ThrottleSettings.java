package dev.jhv.migration.converge;

import dev.jhv.migration.control.MigrationParameters;

/**
 * The auto-converge parameters, read afresh at every period as QEMU does (a migrate_set_parameter during the
 * migration takes effect at the next one).
 *
 * @param thresholdPct throttle-trigger-threshold: dirtied bytes above this share of the bytes sent count as high
 * @param perVcpu      jhv's x-per-vcpu-throttle: throttle only the vCPUs that dirty, evaluated every second
 */
public record ThrottleSettings(int thresholdPct, int initialPct, int incrementPct, int maxPct, boolean tailslow,
                               boolean perVcpu) {
    public static final String PER_VCPU = "x-per-vcpu-throttle";

    public static ThrottleSettings of(MigrationParameters p) {
        return new ThrottleSettings((int) p.number("throttle-trigger-threshold"),
                (int) p.number("cpu-throttle-initial"), (int) p.number("cpu-throttle-increment"),
                (int) p.number("max-cpu-throttle"), (Boolean) p.get("cpu-throttle-tailslow"),
                (Boolean) p.get(PER_VCPU));
    }
}
