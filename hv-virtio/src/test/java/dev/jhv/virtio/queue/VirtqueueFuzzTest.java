package dev.jhv.virtio.queue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Random rings: whatever the driver wrote, a pop gives a chain inside RAM or a VirtqueueException, never anything
 * else. Fixed seeds, so a failure repeats.
 */
class VirtqueueFuzzTest {
    private static final int ITERATIONS = 2500;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4})
    void randomRingsGiveValidChainsOrVirtqueueExceptions(long seed) {
        var rnd = new SplittableRandom(seed);
        int valid = 0;
        try (var r = new TestRing(16)) {
            for (int it = 0; it < ITERATIONS; it++) {
                r.queue.reset();
                r.queue.configure(16, TestRing.DESC, TestRing.AVAIL, TestRing.USED, true);
                r.queue.setFeatures(rnd.nextBoolean(), rnd.nextBoolean());
                long table = TestRing.DATA + 0x8000;
                for (int i = 0; i < 16; i++) {
                    r.desc(i, randomAddress(rnd, table), randomLength(rnd), rnd.nextInt(8), rnd.nextInt(20));
                    r.descAt(table, i, randomAddress(rnd, table), randomLength(rnd), rnd.nextInt(8), rnd.nextInt(20));
                }
                for (int i = 0; i < 16; i++) {
                    r.ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, TestRing.AVAIL + 4 + 2L * i, (short) rnd.nextInt(20));
                }
                r.setAvailIdx(rnd.nextInt(24));
                for (int n = 0; n < 20; n++) {
                    DescriptorChain c;
                    try {
                        c = r.queue.pop(r.memory);
                    } catch (VirtqueueException expected) {
                        break;
                    } catch (RuntimeException e) {
                        throw new AssertionError("seed " + seed + " iteration " + it + ": " + e, e);
                    }
                    if (c == null) {
                        break;
                    }
                    valid++;
                    assertThat(c.head()).isBetween(0, 15);
                    assertThat(c.readable().size() + c.writable().size()).isBetween(1, 16 + 16);
                    for (GuestBuffer b : c.readable()) {
                        assertThat(r.memory.isRam(b.gpa(), b.length())).isTrue();
                    }
                    for (GuestBuffer b : c.writable()) {
                        assertThat(r.memory.isRam(b.gpa(), b.length())).isTrue();
                    }
                    r.queue.push(r.memory, c, (int) Math.min(c.writableLength(), 4096));
                    r.queue.needsInterrupt(r.memory);
                }
            }
        } catch (RuntimeException e) {
            fail("seed " + seed, e);
        }
        assertThat(valid).as("some chains were valid, so the walk was exercised").isPositive();
    }

    private static long randomAddress(SplittableRandom rnd, long table) {
        return switch (rnd.nextInt(5)) {
            case 0 -> rnd.nextLong();
            case 1 -> TestRing.RAM_SIZE - rnd.nextInt(64);
            case 2 -> table;
            default -> TestRing.DATA + rnd.nextInt(0x4000);
        };
    }

    private static int randomLength(SplittableRandom rnd) {
        return switch (rnd.nextInt(4)) {
            case 0 -> rnd.nextInt();
            case 1 -> 16 * rnd.nextInt(20);
            default -> rnd.nextInt(256);
        };
    }
}
