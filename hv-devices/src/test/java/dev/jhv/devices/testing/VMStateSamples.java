package dev.jhv.devices.testing;

import dev.jhv.core.vmstate.VMStateDescription;
import dev.jhv.core.vmstate.VMStateException;
import dev.jhv.core.vmstate.VMStateRoundTrip;

import java.util.Arrays;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** Random device states for the generated round-trip check. */
public final class VMStateSamples {
    private VMStateSamples() {
    }

    /**
     * A fresh device filled with random values fitting the description and passed through its post-load hook
     * (which installs staged values and recomputes derived ones); seeds whose values post-load rejects are
     * skipped.
     */
    public static <T> T randomSample(VMStateDescription<T> desc, Supplier<T> fresh, long seed) {
        for (long s = seed; s < seed + 1000; s++) {
            T t = fresh.get();
            VMStateRoundTrip.randomise(desc, t, s);
            try {
                desc.apply(t, desc.capture(t));
                return t;
            } catch (VMStateException e) {
                // post-load refused this combination: try the next seed
            }
        }
        throw new AssertionError("no acceptable random state for " + desc.name() + " from seed " + seed);
    }

    /**
     * Runs {@link VMStateRoundTrip#check} on several random samples and checks that the samples differ from a
     * fresh device (so the description really carries the values).
     */
    public static <T> void checkRandomised(VMStateDescription<T> desc, Supplier<T> fresh, int samples) {
        byte[] pristine = desc.save(fresh.get());
        boolean someDiffer = false;
        for (int i = 0; i < samples; i++) {
            T sample = randomSample(desc, fresh, 1000L * i + 17);
            assertThat(VMStateRoundTrip.check(desc, sample, fresh)).isPositive();
            someDiffer |= !Arrays.equals(desc.save(sample), pristine);
        }
        assertThat(someDiffer).as("random samples of %s differ from a fresh device", desc.name()).isTrue();
    }
}
