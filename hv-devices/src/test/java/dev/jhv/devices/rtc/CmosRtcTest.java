package dev.jhv.devices.rtc;

import dev.jhv.devices.testing.MutableClock;
import dev.jhv.devices.testing.RecordingIrq;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class CmosRtcTest {
    static final long MIB = 1024 * 1024;
    // A Monday.
    static final Instant START = Instant.parse("2026-11-23T15:04:29.500Z");

    MutableClock clock;
    RecordingIrq irq;
    CmosRtc rtc;

    @BeforeEach
    void setUp() {
        clock = new MutableClock(START);
        irq = new RecordingIrq();
        rtc = new CmosRtc(256 * MIB, 0, 2, clock, irq);
    }

    int cmos(int reg) {
        rtc.write(0, 1, reg);
        return (int) rtc.read(1, 1);
    }

    void cmos(int reg, int value) {
        rtc.write(0, 1, reg);
        rtc.write(1, 1, value);
    }

    @Test
    void timeAndDateInBcdByDefault() {
        assertThat(cmos(0x0b)).isEqualTo(0x02);
        assertThat(cmos(0x00)).isEqualTo(0x29);
        assertThat(cmos(0x02)).isEqualTo(0x04);
        assertThat(cmos(0x04)).isEqualTo(0x15);
        assertThat(cmos(0x06)).as("Monday, Sunday = 1").isEqualTo(2);
        assertThat(cmos(0x07)).isEqualTo(0x23);
        assertThat(cmos(0x08)).isEqualTo(0x11);
        assertThat(cmos(0x09)).isEqualTo(0x26);
        assertThat(cmos(0x32)).isEqualTo(0x20);
    }

    @Test
    void binaryModeAndTwelveHourMode() {
        cmos(0x0b, 0x06);
        assertThat(cmos(0x00)).isEqualTo(29);
        assertThat(cmos(0x04)).isEqualTo(15);
        assertThat(cmos(0x09)).isEqualTo(26);
        assertThat(cmos(0x32)).isEqualTo(20);
        cmos(0x0b, 0x04); // binary, 12-hour
        assertThat(cmos(0x04)).as("3 PM").isEqualTo(0x80 | 3);
        cmos(0x0b, 0x00); // BCD, 12-hour
        clock.set(Instant.parse("2026-11-23T00:30:00Z"));
        assertThat(cmos(0x04)).as("12 AM").isEqualTo(0x12);
        clock.set(Instant.parse("2026-11-23T12:30:00Z"));
        assertThat(cmos(0x04)).as("12 PM").isEqualTo(0x92);
        clock.set(Instant.parse("2026-11-23T23:30:00Z"));
        assertThat(cmos(0x04)).as("11 PM").isEqualTo(0x91);
    }

    @Test
    void clockAdvancesWithHostTime() {
        clock.advance(Duration.ofSeconds(31));
        assertThat(cmos(0x00)).isEqualTo(0x00);
        assertThat(cmos(0x02)).isEqualTo(0x05);
        clock.advance(Duration.ofDays(40));
        assertThat(cmos(0x08)).isEqualTo(0x01);
        assertThat(cmos(0x09)).isEqualTo(0x27);
    }

    @Test
    void setBitFreezesAndWrittenTimeRunsFromClearing() {
        cmos(0x0b, 0x82);
        clock.advance(Duration.ofSeconds(10));
        assertThat(cmos(0x00)).as("frozen").isEqualTo(0x29);
        cmos(0x00, 0x58);
        cmos(0x02, 0x59);
        cmos(0x04, 0x23);
        cmos(0x07, 0x31);
        cmos(0x08, 0x12);
        cmos(0x09, 0x99);
        cmos(0x32, 0x20);
        clock.advance(Duration.ofSeconds(10));
        assertThat(cmos(0x00)).as("still what was written").isEqualTo(0x58);
        cmos(0x0b, 0x02);
        assertThat(cmos(0x00)).isEqualTo(0x58);
        clock.advance(Duration.ofSeconds(3));
        assertThat(cmos(0x00)).isEqualTo(0x01);
        assertThat(cmos(0x02)).isEqualTo(0x00);
        assertThat(cmos(0x04)).isEqualTo(0x00);
        assertThat(cmos(0x07)).isEqualTo(0x01);
        assertThat(cmos(0x08)).isEqualTo(0x01);
        assertThat(cmos(0x09)).isEqualTo(0x00);
        assertThat(cmos(0x32)).isEqualTo(0x21);
    }

    @Test
    void writingATimeRegisterWhileRunningMovesTheClock() {
        cmos(0x02, 0x45);
        assertThat(cmos(0x02)).isEqualTo(0x45);
        assertThat(cmos(0x04)).isEqualTo(0x15);
        clock.advance(Duration.ofMillis(600)); // the phase within the second is kept
        assertThat(cmos(0x00)).isEqualTo(0x30);
    }

    @Test
    void invalidTimeIsIgnoredWithoutHarm() {
        cmos(0x0b, 0x82);
        cmos(0x08, 0x13); // month 13
        cmos(0x0b, 0x02);
        assertThat(cmos(0x08)).isEqualTo(0x11);
        cmos(0x07, 0xff);
        assertThat(cmos(0x07)).isEqualTo(0x23);
    }

    @Test
    void updateInProgressJustBeforeEachSecond() {
        assertThat(cmos(0x0a)).isEqualTo(0x26);
        clock.set(Instant.parse("2026-11-23T15:04:29.999900Z"));
        assertThat(cmos(0x0a)).isEqualTo(0x80 | 0x26);
        clock.set(Instant.parse("2026-11-23T15:04:30.000100Z"));
        assertThat(cmos(0x0a)).isEqualTo(0x26);
        clock.set(Instant.parse("2026-11-23T15:04:30.999900Z"));
        cmos(0x0b, 0x82);
        assertThat(cmos(0x0a)).as("no update while SET").isEqualTo(0x26);
        cmos(0x0a, 0xff);
        assertThat(cmos(0x0a) & 0x80).as("UIP is read-only").isZero();
    }

    @Test
    void registerCReportsAndClearsFlagsAndDIsValid() {
        assertThat(cmos(0x0d)).isEqualTo(0x80);
        cmos(0x0d, 0x00);
        assertThat(cmos(0x0d)).isEqualTo(0x80);
        cmos(0x0c); // start clean
        clock.advance(Duration.ofMillis(100)); // within the second: only periodic ticks (1024 Hz)
        assertThat(cmos(0x0c)).isEqualTo(0x40);
        assertThat(cmos(0x0c)).as("cleared on read").isZero();
        cmos(0x0b, 0x02 | 0x10); // UIE
        clock.advance(Duration.ofMillis(500));
        assertThat(cmos(0x0c)).as("IRQF | PF | UF").isEqualTo(0x80 | 0x40 | 0x10);
        assertThat(irq.level()).isFalse();
    }

    @Test
    void alarmFlagWhenTheTimeMatches() {
        cmos(0x01, 0x35);
        cmos(0x03, 0xc0); // any minute
        cmos(0x05, 0xc0); // any hour
        cmos(0x0c);
        clock.advance(Duration.ofSeconds(2));
        assertThat(cmos(0x0c) & 0x20).isZero();
        clock.advance(Duration.ofSeconds(5));
        assertThat(cmos(0x0c) & 0x20).isEqualTo(0x20);
    }

    /** Records the wake-ups the RTC asks for without running them; the test fires them by hand. */
    static final class RecordingTimer extends java.util.concurrent.ScheduledThreadPoolExecutor {
        final java.util.List<Long> delays = new java.util.ArrayList<>();

        RecordingTimer() {
            super(1);
        }

        @Override
        public java.util.concurrent.ScheduledFuture<?> schedule(Runnable command, long delay,
                                                                java.util.concurrent.TimeUnit unit) {
            delays.add(unit.toNanos(delay));
            return super.schedule(() -> { }, 1, java.util.concurrent.TimeUnit.DAYS);
        }

        Long last() {
            return delays.isEmpty() ? null : delays.getLast();
        }
    }

    @Test
    void updateEndedInterruptAssertsIrq8UntilCIsRead() {
        var timer = new RecordingTimer();
        try {
            var r = new CmosRtc(256 * MIB, 0, 1, clock, irq, timer);
            rtc = r;
            cmos(0x0c);
            assertThat(timer.delays).as("nothing enabled, nothing scheduled").isEmpty();
            cmos(0x0b, 0x12);
            assertThat(timer.last()).as("next second boundary").isEqualTo(500_000_000L);
            clock.advance(Duration.ofMillis(500));
            r.timerFired();
            assertThat(irq.level()).isTrue();
            int scheduled = timer.delays.size();
            r.timerFired();
            assertThat(timer.delays).as("no wake-ups while IRQ 8 waits for the guest").hasSize(scheduled);
            assertThat(cmos(0x0c)).as("IRQF | UF, and PF which runs regardless of PIE").isEqualTo(0xd0);
            assertThat(irq.level()).isFalse();
            assertThat(timer.last()).isEqualTo(1_000_000_000L);
            cmos(0x0b, 0x82); // SET clears UIE and stops updates
            assertThat(cmos(0x0b)).isEqualTo(0x82);
            clock.advance(Duration.ofSeconds(1));
            r.timerFired();
            assertThat(irq.level()).isFalse();
        } finally {
            timer.shutdownNow();
        }
    }

    @Test
    void periodicInterruptAtTheRateSelected() {
        var timer = new RecordingTimer();
        try {
            var r = new CmosRtc(256 * MIB, 0, 1, clock, irq, timer);
            rtc = r;
            cmos(0x0a, 0x2f); // rate 15: 2 Hz
            cmos(0x0c);
            cmos(0x0b, 0x42);
            assertThat(timer.last()).isEqualTo(500_000_000L);
            clock.advance(Duration.ofMillis(400));
            r.timerFired();
            assertThat(irq.level()).as("early wake-up raises nothing").isFalse();
            clock.advance(Duration.ofMillis(100));
            r.timerFired();
            assertThat(irq.level()).isTrue();
            assertThat(cmos(0x0c)).as("IRQF | PF, UF set but not enabled").isEqualTo(0x80 | 0x40 | 0x10);
            cmos(0x0a, 0x60 | 0x0f); // divider held in reset: no more periodic interrupts
            clock.advance(Duration.ofSeconds(1));
            r.timerFired();
            assertThat(irq.level()).isFalse();
        } finally {
            timer.shutdownNow();
        }
    }

    @Test
    void memorySizeBytesAsQemuWritesThem() {
        assertThat(cmos(0x15) | cmos(0x16) << 8).isEqualTo(640);
        assertThat(cmos(0x17) | cmos(0x18) << 8).as("capped").isEqualTo(0xffff);
        assertThat(cmos(0x30) | cmos(0x31) << 8).isEqualTo(0xffff);
        assertThat(cmos(0x34) | cmos(0x35) << 8).isEqualTo((256 - 16) * 16);
        assertThat(cmos(0x5b) | cmos(0x5c) << 8 | cmos(0x5d) << 16).isZero();
        assertThat(cmos(0x5f)).isEqualTo(1);

        var big = new CmosRtc(3072 * MIB, 5L * 1024 * MIB, 8, Clock.systemUTC(), irq);
        assertThat(big.peek(0x34) | big.peek(0x35) << 8).isEqualTo((3072 - 16) * 16);
        assertThat(big.peek(0x5b) | big.peek(0x5c) << 8 | big.peek(0x5d) << 16).isEqualTo(5 * 16384);
        assertThat(big.peek(0x5f)).isEqualTo(7);

        var small = new CmosRtc(10 * MIB, 0, 1, Clock.systemUTC(), irq);
        assertThat(small.peek(0x17) | small.peek(0x18) << 8).isEqualTo(9 * 1024);
        assertThat(small.peek(0x34) | small.peek(0x35) << 8).isZero();
    }

    @Test
    void indexBit7IsTheNmiMaskAndRamBytesKeepTheirValue() {
        rtc.write(0, 1, 0x80 | 0x40);
        assertThat(rtc.nmiMasked()).isTrue();
        rtc.write(1, 1, 0xa5);
        assertThat(cmos(0x40)).isEqualTo(0xa5);
        assertThat(rtc.nmiMasked()).isFalse();
        assertThat(rtc.read(0, 1)).isEqualTo(0xff);
    }
}
