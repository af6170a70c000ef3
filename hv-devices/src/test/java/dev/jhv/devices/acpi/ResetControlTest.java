package dev.jhv.devices.acpi;

import dev.jhv.devices.testing.RecordingControl;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ResetControlTest {
    @Test
    void acpiResetValueResets() {
        var control = new RecordingControl();
        var rc = new ResetControl(control);
        rc.write(0, 1, ResetControl.RESET_VALUE);
        assertThat(control.requests()).containsExactly("reset");
    }

    @Test
    void srstAloneIsStoredAndTheRcpuWriteResets() {
        var control = new RecordingControl();
        var rc = new ResetControl(control);
        rc.write(0, 1, 0x02);
        assertThat(control.requests()).isEmpty();
        assertThat(rc.read(0, 1)).isEqualTo(0x02);
        rc.write(0, 1, 0x04);
        assertThat(control.requests()).containsExactly("reset");
        assertThat(rc.read(0, 1)).isZero();
        rc.write(0, 1, 0x08);
        assertThat(control.requests()).hasSize(1);
    }
}
