package dev.jhv.migration.channel;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The cap on a fake clock: waiting moves the clock, so the figures are exact and nothing sleeps. */
class RateLimitedOutputStreamTest {
    static final long MS = 1_000_000L;

    /** A clock that only moves when the limiter waits (and by what a test says). */
    static class FakeClock implements RateLimitedOutputStream.Clock {
        long now = 1_000 * MS;
        long parked;

        @Override
        public long nanoTime() {
            return now;
        }

        @Override
        public void parkNanos(long nanos) {
            now += nanos;
            parked += nanos;
        }
    }

    final FakeClock clock = new FakeClock();
    final ByteArrayOutputStream wire = new ByteArrayOutputStream();

    @Test
    void oneMebibyteAtOneMebibytePerSecondTakesOneSecondOfWindows() throws IOException {
        var out = new RateLimitedOutputStream(wire, 1 << 20, clock);
        out.write(new byte[1 << 20], 0, 1 << 20);
        assertThat(wire.size()).isEqualTo(1 << 20);
        assertThat(out.written()).isEqualTo(1 << 20);
        // ten 100 ms windows of 104857 bytes each: the last bytes go in the eleventh window, after 1 s of waiting
        assertThat(clock.parked).isEqualTo(1000 * MS);
    }

    @Test
    void noCapNeverWaits() throws IOException {
        var out = new RateLimitedOutputStream(wire, 0, clock);
        out.write(new byte[8 << 20], 0, 8 << 20);
        assertThat(clock.parked).isZero();
        assertThat(wire.size()).isEqualTo(8 << 20);
    }

    @Test
    void aChangedRateTakesEffectDuringAWrite() throws IOException {
        var out = new RateLimitedOutputStream(wire, 10 << 20, clock);
        out.write(new byte[1 << 20], 0, 1 << 20); // exactly one window's worth: no wait yet
        assertThat(clock.parked).isZero();
        out.setRate(1 << 20);
        out.write(new byte[200_000], 0, 200_000);
        // the next window (after 100 ms) admits 104857 bytes, the one after the rest
        assertThat(clock.parked).isEqualTo(200 * MS);
        out.setRate(0);
        long before = clock.parked;
        out.write(new byte[4 << 20], 0, 4 << 20);
        assertThat(clock.parked).isEqualTo(before);
    }

    @Test
    void waitingOnTheCapIsProgressNotAStall() throws IOException {
        var out = new RateLimitedOutputStream(wire, 1 << 20, clock);
        long start = out.lastProgressNanos();
        out.write(new byte[1 << 20], 0, 1 << 20);
        assertThat(out.lastProgressNanos()).isEqualTo(clock.now).isGreaterThan(start);
    }

    @Test
    void anInterruptedWaitEndsTheWriteAsCancelled() throws IOException {
        var out = new RateLimitedOutputStream(wire, 1 << 20, new FakeClock() {
            @Override
            public void parkNanos(long nanos) {
                super.parkNanos(nanos);
                Thread.currentThread().interrupt(); // migrate_cancel interrupts the migration thread
            }
        });
        assertThatThrownBy(() -> out.write(new byte[1 << 20], 0, 1 << 20))
                .isInstanceOf(InterruptedIOException.class).hasMessageContaining("cancelled");
        assertThat(Thread.interrupted()).isTrue();
        assertThat(wire.size()).isEqualTo(104857);
    }
}
