package dev.jhv.devices.sysctl;

import dev.jhv.devices.testing.RecordingControl;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SystemControlPortATest {
    @Test
    void a20IsStoredAndFastResetFiresOnTheRisingEdgeOnly() {
        var control = new RecordingControl();
        var port = new SystemControlPortA(control);
        port.write(0, 1, 0x02);
        assertThat(port.read(0, 1)).isEqualTo(0x02);
        assertThat(control.requests()).isEmpty();
        port.write(0, 1, 0x03);
        assertThat(control.requests()).containsExactly("reset");
        port.write(0, 1, 0x03); // still set: no new edge
        assertThat(control.requests()).hasSize(1);
        port.reset();
        assertThat(port.read(0, 1)).isZero();
        port.write(0, 1, 0x01);
        assertThat(control.requests()).hasSize(2);
    }
}
