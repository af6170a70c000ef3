package dev.jhv.devices.acpi;

import dev.jhv.devices.testing.RecordingControl;
import dev.jhv.devices.testing.RecordingIrq;
import dev.jhv.core.device.StatefulRoundTrip;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class AcpiPmStateTest {
    final AtomicLong nanos = new AtomicLong(5_000_000_000L);

    @Test
    void roundTripsRandomStates() {
        StatefulRoundTrip.checkRandomised(() -> new AcpiPm(new RecordingIrq(), new RecordingControl(), nanos::get), 8);
        StatefulRoundTrip.checkRandomised(() -> new ResetControl(new RecordingControl()), 4);
    }

    @Test
    void pmTimerContinuesFromTheSavedCountOnAnotherClock() {
        var pm = new AcpiPm(new RecordingIrq(), new RecordingControl(), nanos::get);
        nanos.addAndGet(3_000_000_000L);
        long before = pm.read(AcpiPm.PM_TMR_OFFSET, 4);
        assertThat(before).isGreaterThan(10_000_000L);

        byte[] state = pm.saveState();
        var otherHost = new AtomicLong(42);          // a destination whose monotonic clock is much earlier
        var fresh = new AcpiPm(new RecordingIrq(), new RecordingControl(), otherHost::get);
        fresh.loadState(state, 1);

        assertThat(fresh.read(AcpiPm.PM_TMR_OFFSET, 4)).isEqualTo(before);
        otherHost.addAndGet(1_000_000); // 1 ms: 3579.545 ticks
        assertThat(fresh.read(AcpiPm.PM_TMR_OFFSET, 4)).isBetween(before + 3579, before + 3580);
    }

    @Test
    void statusEnableAndSciSurvive() {
        var pm = new AcpiPm(new RecordingIrq(), new RecordingControl(), nanos::get);
        pm.write(2, 2, AcpiPm.PWRBTN_STS);
        pm.press();

        var sci = new RecordingIrq();
        var fresh = new AcpiPm(sci, new RecordingControl(), nanos::get);
        fresh.loadState(pm.saveState(), 1);

        assertThat(sci.level()).isTrue();
        assertThat(fresh.read(0, 2) & AcpiPm.PWRBTN_STS).isEqualTo(AcpiPm.PWRBTN_STS);
        assertThat(fresh.read(2, 2)).isEqualTo(AcpiPm.PWRBTN_STS);
    }

    @Test
    void resetControlKeepsSrstAndLoadingNeverResets() {
        var control = new RecordingControl();
        var rcr = new ResetControl(control);
        rcr.write(0, 1, ResetControl.SRST);
        var control2 = new RecordingControl();
        var fresh = new ResetControl(control2);
        fresh.loadState(rcr.saveState(), 1);
        assertThat(fresh.read(0, 1)).isEqualTo(ResetControl.SRST);
        assertThat(control2.requests()).isEmpty();
    }

    /** The PM timer stands while the machine is paused, as QEMU's (virtual clock), and counts on after. */
    @Test
    void pmTimerStandsWhilePaused() {
        var pm = new AcpiPm(new RecordingIrq(), new RecordingControl(), nanos::get);
        nanos.addAndGet(1_000_000_000L);
        pm.pause();
        long at = pm.read(AcpiPm.PM_TMR_OFFSET, 4);
        nanos.addAndGet(5_000_000_000L);              // five seconds paused
        assertThat(pm.saveState()).isEqualTo(pm.saveState());
        pm.resume();
        assertThat(pm.read(AcpiPm.PM_TMR_OFFSET, 4)).isBetween(at, at + 1);
        nanos.addAndGet(1_000_000);
        assertThat(pm.read(AcpiPm.PM_TMR_OFFSET, 4)).isBetween(at + 3579, at + 3581);
    }
}
