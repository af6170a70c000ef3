package dev.jhv.core.device;

import dev.jhv.core.vmstate.RecordDraft;
import dev.jhv.core.vmstate.VMStateDescription;
import dev.jhv.core.vmstate.VMStateRoundTrip;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The generated round-trip check run on devices: save a device's state, load it into a fresh device of the same
 * kind, save again, same bytes (with every subsection combination, see {@link VMStateRoundTrip}). For tests of
 * every module; lives here beside the device model.
 */
public final class StatefulRoundTrip {
    private StatefulRoundTrip() {
    }

    /** Runs the check with {@code sample}'s current state. @return how many save/load/save rounds ran */
    public static <S extends Record, D extends Stateful<S>> int check(D sample, Supplier<D> fresh) {
        return VMStateRoundTrip.check(sample.vmstate().description(), sample.stateDraft(),
                () -> fresh.get().stateDraft());
    }

    /**
     * A fresh device given a random state that fits its description and that the device accepted (seeds whose
     * state it refuses are skipped).
     */
    public static <S extends Record, D extends Stateful<S>> D randomSample(Supplier<D> fresh, long seed) {
        for (long s = seed; s < seed + 1000; s++) {
            D d = fresh.get();
            VMStateDescription<RecordDraft<S>> desc = d.vmstate().description();
            RecordDraft<S> draft = d.stateDraft();
            draft.pull(d.state());
            VMStateRoundTrip.randomise(desc, draft, s);
            try {
                d.restore(draft.build());
                return d;
            } catch (RuntimeException e) {
                // the device (or the record) refused this combination: try the next seed
            }
        }
        throw new AssertionError("no acceptable random state for " + fresh.get().id() + " from seed " + seed);
    }

    /**
     * The check on several random samples, and the samples must differ from a fresh device (so the description
     * really carries the values).
     */
    public static <S extends Record, D extends Stateful<S>> void checkRandomised(Supplier<D> fresh, int samples) {
        byte[] pristine = fresh.get().saveState();
        boolean someDiffer = false;
        for (int i = 0; i < samples; i++) {
            D sample = randomSample(fresh, 1000L * i + 17);
            if (check(sample, fresh) <= 0) {
                throw new AssertionError("no round ran for " + sample.id());
            }
            someDiffer |= !Arrays.equals(sample.saveState(), pristine);
        }
        if (!someDiffer) {
            throw new AssertionError("random samples of " + fresh.get().id() + " do not differ from a fresh device");
        }
    }
}
