package dev.jhv.devices.sysctl;

import dev.jhv.devices.testing.RecordingControl;
import dev.jhv.core.device.StatefulRoundTrip;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SystemControlPortAStateTest {
    @Test
    void roundTripsRandomStates() {
        StatefulRoundTrip.checkRandomised(() -> new SystemControlPortA(new RecordingControl()), 4);
    }

    @Test
    void a20AndFastResetBitsComeBackWithoutResetting() {
        var port92 = new SystemControlPortA(new RecordingControl());
        port92.write(0, 1, SystemControlPortA.A20 | SystemControlPortA.FAST_RESET);
        var control2 = new RecordingControl();
        var fresh = new SystemControlPortA(control2);
        fresh.loadState(port92.saveState(), 1);
        assertThat(fresh.read(0, 1)).isEqualTo(SystemControlPortA.A20 | SystemControlPortA.FAST_RESET);
        assertThat(control2.requests()).isEmpty();
        // Bit 0 already set: writing it again is no 0-to-1 edge, so no reset, as on the source machine.
        fresh.write(0, 1, SystemControlPortA.A20 | SystemControlPortA.FAST_RESET);
        assertThat(control2.requests()).isEmpty();
    }
}
