package dev.jhv.migration.control;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SwitchoverEstimateTest {
    static final long MIB = 1 << 20;
    static final long SECOND = 1_000_000_000L;

    @Test
    void theDowntimeIsWhatIsLeftOverTheBandwidthAPassAchieved() {
        // 100 MiB in 1 s: 100 MiB/s; 10 MiB left is 100 ms
        var e = SwitchoverEstimate.NONE.next(100 * MIB, SECOND, 10 * MIB, 0);
        assertThat(e.bandwidth()).isEqualTo(100 * MIB);
        assertThat(e.expectedMs()).isEqualTo(100);
        assertThat(e.fits(300)).isTrue();
        assertThat(e.fits(99)).isFalse();
    }

    @Test
    void whatTheDestinationHasNotReadCountsAsDowntimeToo() {
        var e = SwitchoverEstimate.NONE.next(100 * MIB, SECOND, 10 * MIB, 40 * MIB);
        assertThat(e.expectedMs()).isEqualTo(500);
        assertThat(e.fits(300)).isFalse();
    }

    @Test
    void aPassTooSmallToMeasureKeepsTheLastBandwidth() {
        var first = SwitchoverEstimate.NONE.next(50 * MIB, SECOND, 5 * MIB, 0);
        var tiny = first.next(4096, 1_000_000, 100 * MIB, 0); // 4 KiB in 1 ms says nothing about the link
        assertThat(tiny.bandwidth()).isEqualTo(50 * MIB);
        assertThat(tiny.expectedMs()).isEqualTo(2000);
    }

    @Test
    void withoutABandwidthNothingFitsButNothingLeftAlwaysDoes() {
        var unknown = SwitchoverEstimate.NONE.next(1000, SECOND, 4096, 0);
        assertThat(unknown.bandwidth()).isZero();
        assertThat(unknown.fits(Long.MAX_VALUE - 1)).isFalse();
        var empty = SwitchoverEstimate.NONE.next(0, SECOND, 0, 0);
        assertThat(empty.expectedMs()).isZero();
        assertThat(empty.fits(0)).isTrue();
    }
}
