package dev.jhv.devices.acpi;

import dev.jhv.devices.testing.RecordingControl;
import dev.jhv.devices.testing.RecordingIrq;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class AcpiPmTest {
    static final int STS = 0, EN = 2, CNT = 4, TMR = 8;

    AtomicLong nanos;
    RecordingIrq sci;
    RecordingControl control;
    AcpiPm pm;

    @BeforeEach
    void setUp() {
        nanos = new AtomicLong(123_456_789_000L);
        sci = new RecordingIrq();
        control = new RecordingControl();
        pm = new AcpiPm(sci, control, nanos::get);
    }

    long timer() {
        return pm.read(TMR, 4);
    }

    @Test
    void timerCountsAt3579545HzFromZero() {
        assertThat(timer()).isZero();
        nanos.addAndGet(1_000_000_000L);
        assertThat(timer()).isEqualTo(3_579_545);
        nanos.addAndGet(1_000);
        assertThat(timer()).isEqualTo(3_579_545 + 3); // 3.58 ticks per µs, rounded down
        assertThat(pm.read(TMR + 2, 2)).isEqualTo((3_579_545 + 3) >>> 16);
    }

    @Test
    void timerIsMonotonicAndWrapsAt24Bits() {
        long previous = -1;
        long wraps = 0;
        for (int i = 0; i < 2000; i++) {
            nanos.addAndGet(3_000_000); // 3 ms steps over 6 s: the 24-bit counter wraps every 4.69 s
            long t = timer();
            assertThat(t).isLessThan(1 << 24);
            if (t < previous) {
                wraps++;
            } else {
                assertThat(t).isGreaterThanOrEqualTo(previous);
            }
            previous = t;
        }
        assertThat(wraps).isEqualTo(1);
        assertThat(pm.read(TMR, 4) >>> 24).as("upper byte reads zero").isZero();
    }

    @Test
    void timerBit23ChangeSetsTmrStsAndWithTmrEnTheSci() {
        assertThat(pm.read(STS, 2) & AcpiPm.TMR_STS).isZero();
        pm.write(EN, 2, AcpiPm.TMR_STS);
        nanos.addAndGet(2_400_000_000L); // past 2^23 ticks (2.34 s)
        assertThat(pm.read(STS, 2) & AcpiPm.TMR_STS).isEqualTo(AcpiPm.TMR_STS);
        assertThat(sci.level()).isTrue();
        pm.write(STS, 2, AcpiPm.TMR_STS);
        assertThat(pm.read(STS, 2) & AcpiPm.TMR_STS).isZero();
        assertThat(sci.level()).isFalse();
    }

    @Test
    void powerButtonStatusIsWriteOneToClearAndDrivesSciWhenEnabled() {
        pm.press();
        assertThat(pm.read(STS, 2)).isEqualTo(AcpiPm.PWRBTN_STS);
        assertThat(sci.level()).as("not enabled").isFalse();
        pm.write(EN, 2, AcpiPm.PWRBTN_STS);
        assertThat(sci.level()).isTrue();
        assertThat(pm.read(EN, 2)).isEqualTo(AcpiPm.PWRBTN_STS);
        pm.write(STS, 2, 0); // writing zeros changes nothing
        assertThat(pm.read(STS, 2)).isEqualTo(AcpiPm.PWRBTN_STS);
        pm.write(STS, 2, 0xffff & ~AcpiPm.PWRBTN_STS);
        assertThat(pm.read(STS, 2)).isEqualTo(AcpiPm.PWRBTN_STS);
        pm.write(STS + 1, 1, AcpiPm.PWRBTN_STS >>> 8); // byte access to the high half
        assertThat(pm.read(STS, 2)).isZero();
        assertThat(sci.level()).isFalse();
    }

    @Test
    void pm1EvtAsOneDwordAccess() {
        pm.press();
        pm.write(STS, 4, (long) AcpiPm.PWRBTN_STS << 16); // enable via the upper half
        assertThat(pm.read(STS, 4)).isEqualTo((long) AcpiPm.PWRBTN_STS << 16 | AcpiPm.PWRBTN_STS);
        assertThat(sci.level()).isTrue();
    }

    @Test
    void sciEnAlwaysReadsSetAndSlpEnIsWriteOnly() {
        assertThat(pm.read(CNT, 2)).isEqualTo(AcpiPm.SCI_EN);
        pm.write(CNT, 2, 5 << 10);
        assertThat(pm.read(CNT, 2)).isEqualTo(5 << 10 | AcpiPm.SCI_EN);
        assertThat(control.requests()).isEmpty();
    }

    @Test
    void slpEnWithS5TypePowersOff() {
        pm.write(CNT, 2, AcpiPm.SLP_EN | AcpiPm.SLP_TYP_S5 << 10 | AcpiPm.SCI_EN);
        assertThat(control.requests()).containsExactly("poweroff");
        assertThat(pm.read(CNT, 2) & AcpiPm.SLP_EN).isZero();
    }

    @Test
    void otherSleepTypesDoNotPowerOff() {
        pm.write(CNT, 2, AcpiPm.SLP_EN | 1 << 10);
        assertThat(control.requests()).isEmpty();
    }

    @Test
    void resetClearsEnablesAndStatus() {
        pm.write(EN, 2, AcpiPm.PWRBTN_STS);
        pm.press();
        assertThat(sci.level()).isTrue();
        pm.reset();
        assertThat(sci.level()).isFalse();
        assertThat(pm.read(STS, 2)).isZero();
        assertThat(pm.read(EN, 2)).isZero();
    }

    @Test
    void accessesOutsideTheBlockAreHarmless() {
        assertThat(pm.read(64, 4)).isZero();
        pm.write(-1, 4, -1);
        pm.write(11, 4, -1L);
        assertThat(control.requests()).isEmpty();
    }
}
