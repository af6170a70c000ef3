package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.SaveOptions;
import dev.jhv.core.vmstate.VMStateException;
import dev.jhv.core.vmstate.VMStateInput;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Seeded random mutations of the golden streams into the loader: only the loader's own MigrationException may come
 * out (no other exception, no error, no large allocation), and a failed load changes no device. The run is bounded
 * by a count, so it takes the same work every time and a failure repeats with its seed.
 */
class StreamLoaderFuzzTest {
    private static final int ITERATIONS = Integer.getInteger("jhv.fuzz.iterations", 4000);

    @Test
    void mutatedStreamsGiveOnlyTheLoadersErrorAndChangeNoDevice() {
        byte[][] seeds = {Golden.read(Golden.V1), Golden.read(Golden.V2), Golden.read(Golden.CURRENT)};
        var r = new Random(0x4a48564dL);
        int refused = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            long seed = r.nextLong();
            byte[] input = mutate(seeds[i % seeds.length], new Random(seed));
            if (!loadOnce(input, seed)) {
                refused++;
            }
        }
        // nearly every mutation must be refused (the checksums see them); the few that pass are no-ops
        assertThat(refused).isGreaterThan(ITERATIONS * 9 / 10);
    }

    @Test
    void mutatedDeviceStateGivesOnlyVMStateExceptionAndChangesNothing() {
        byte[] seed0 = TestDevice.V2.save(TestDevice.sample(0));
        var r = new Random(0x564d5354L);
        int refused = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            long seed = r.nextLong();
            if (!deviceStateOnce(mutate(seed0, new Random(seed)), seed)) {
                refused++;
            }
        }
        assertThat(refused).isPositive();
    }

    /** Loads a device body directly (no checksum in the way); @return whether it loaded. */
    static boolean deviceStateOnce(byte[] input, long seed) {
        var dev = TestDevice.sample(5);
        var opts = SaveOptions.DEFAULT.force("testdev/extra", true);
        byte[] before = TestDevice.V2.save(dev, opts);
        var in = new VMStateInput(input);
        in.context("testdev", 0);
        try {
            TestDevice.V2.load(dev, in, 2);
            return true;
        } catch (VMStateException e) {
            assertThat(e.getMessage()).as("seed %d", seed).startsWith("load of 'testdev' instance 0");
            assertThat(e.fieldPath()).as("seed %d", seed).startsWith("testdev");
            assertThat(TestDevice.V2.save(dev, opts)).as("seed %d", seed).isEqualTo(before);
            return false;
        } catch (Throwable t) {
            fail("seed " + seed + ": the decoder let out " + t, t);
            return false;
        }
    }

    /** @return whether the load succeeded */
    static boolean loadOnce(byte[] input, long seed) {
        var dst = Fixture.destination();
        byte[] before = dst.deviceState();
        try {
            dst.load(input);
            return true;
        } catch (MigrationException e) {
            assertThat(e.getMessage()).as("seed %d", seed).isNotBlank();
            assertThat(dst.deviceState()).as("device state after a failed load, seed %d", seed).isEqualTo(before);
            return false;
        } catch (Throwable t) {
            fail("seed " + seed + ": the loader let out " + t, t);
            return false;
        }
    }

    static byte[] mutate(byte[] in, Random r) {
        byte[] b = in.clone();
        int n = 1 + r.nextInt(4);
        for (int k = 0; k < n && b.length > 0; k++) {
            int at = r.nextInt(b.length);
            switch (r.nextInt(7)) {
                case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
                case 1 -> b[at] = (byte) r.nextInt(256);
                case 2 -> b = Arrays.copyOf(b, at);
                case 3 -> { // delete a range
                    int len = Math.min(b.length - at, 1 + r.nextInt(64));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                case 4 -> { // insert random bytes
                    byte[] ins = new byte[1 + r.nextInt(16)];
                    r.nextBytes(ins);
                    byte[] c = new byte[b.length + ins.length];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(ins, 0, c, at, ins.length);
                    System.arraycopy(b, at, c, at + ins.length, b.length - at);
                    b = c;
                }
                case 5 -> { // a big length where a length might be
                    for (int j = 0; j < 4 && at + j < b.length; j++) {
                        b[at + j] = (byte) (j == 0 ? 0x7f : 0xff);
                    }
                }
                default -> { // duplicate a chunk (sections repeated)
                    int len = Math.min(b.length - at, 1 + r.nextInt(256));
                    int to = r.nextInt(b.length);
                    byte[] c = new byte[b.length + len];
                    System.arraycopy(b, 0, c, 0, to);
                    System.arraycopy(b, at, c, to, len);
                    System.arraycopy(b, to, c, to + len, b.length - to);
                    b = c;
                }
            }
        }
        return b;
    }
}
