package dev.jhv.devices.rtc;

import dev.jhv.devices.testing.MutableClock;
import dev.jhv.devices.testing.RecordingIrq;
import dev.jhv.core.device.StatefulRoundTrip;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class CmosRtcStateTest {
    static final long MIB = 1024 * 1024;

    final MutableClock clock = new MutableClock(Instant.parse("2026-11-23T10:00:00Z"));

    CmosRtc newRtc(RecordingIrq irq) {
        return new CmosRtc(256 * MIB, 0, 2, clock, irq);
    }

    static int peekReg(CmosRtc rtc, int reg) {
        rtc.write(0, 1, reg);
        return (int) rtc.read(1, 1);
    }

    static void poke(CmosRtc rtc, int reg, int value) {
        rtc.write(0, 1, reg);
        rtc.write(1, 1, value);
    }

    @Test
    void roundTripsRandomStates() {
        StatefulRoundTrip.checkRandomised(() -> newRtc(new RecordingIrq()), 8);
    }

    @Test
    void restoredRtcKeepsGuestTimeBcdTwelveHourModeAndPhase() {
        var rtc = newRtc(new RecordingIrq());
        poke(rtc, CmosRtc.REG_B, 0x80);           // SET, BCD, 12-hour
        poke(rtc, CmosRtc.SECONDS, 0x58);
        poke(rtc, CmosRtc.MINUTES, 0x59);
        poke(rtc, CmosRtc.HOURS, 0x91);           // 11 PM
        poke(rtc, CmosRtc.DAY_OF_MONTH, 0x31);
        poke(rtc, CmosRtc.MONTH, 0x12);
        poke(rtc, CmosRtc.YEAR, 0x99);
        poke(rtc, CmosRtc.CENTURY, 0x19);
        poke(rtc, 0x40, 0xa5);                    // a plain CMOS RAM byte
        poke(rtc, CmosRtc.REG_B, 0x00);           // run from 1999-12-31 23:59:58.0
        clock.advance(Duration.ofMillis(500));

        byte[] state = rtc.saveState();
        var fresh = newRtc(new RecordingIrq());
        fresh.loadState(state, 1);

        assertThat(peekReg(fresh, CmosRtc.REG_B)).isZero();
        assertThat(peekReg(fresh, CmosRtc.HOURS)).isEqualTo(0x91);
        assertThat(peekReg(fresh, CmosRtc.MINUTES)).isEqualTo(0x59);
        assertThat(peekReg(fresh, CmosRtc.SECONDS)).isEqualTo(0x58);
        assertThat(peekReg(fresh, 0x40)).isEqualTo(0xa5);

        // 1.5 s later the half second carried across the load makes it midnight, in BCD and 12-hour form.
        clock.advance(Duration.ofMillis(1500));
        assertThat(peekReg(fresh, CmosRtc.SECONDS)).isEqualTo(0x00);
        assertThat(peekReg(fresh, CmosRtc.MINUTES)).isEqualTo(0x00);
        assertThat(peekReg(fresh, CmosRtc.HOURS)).isEqualTo(0x12); // 12 AM
        assertThat(peekReg(fresh, CmosRtc.DAY_OF_MONTH)).isEqualTo(0x01);
        assertThat(peekReg(fresh, CmosRtc.MONTH)).isEqualTo(0x01);
        assertThat(peekReg(fresh, CmosRtc.YEAR)).isEqualTo(0x00);
        assertThat(peekReg(fresh, CmosRtc.CENTURY)).isEqualTo(0x20);
    }

    @Test
    void pendingUpdateInterruptIsDrivenAfterLoad() {
        var rtc = newRtc(new RecordingIrq());
        poke(rtc, CmosRtc.REG_B, CmosRtc.B_24H | CmosRtc.B_UIE);
        clock.advance(Duration.ofSeconds(1)); // an update ended; no timer ran, the save brings the flags up

        byte[] state = rtc.saveState();
        var irq2 = new RecordingIrq();
        var fresh = newRtc(irq2);
        fresh.loadState(state, 1);

        assertThat(irq2.level()).isTrue();
        assertThat(peekReg(fresh, CmosRtc.REG_C) & (CmosRtc.C_IRQF | CmosRtc.C_UF))
                .isEqualTo(CmosRtc.C_IRQF | CmosRtc.C_UF);
        assertThat(irq2.level()).isFalse();
    }
}
