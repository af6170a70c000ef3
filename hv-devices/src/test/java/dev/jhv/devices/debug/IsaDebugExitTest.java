package dev.jhv.devices.debug;

import dev.jhv.devices.DeviceException;
import dev.jhv.devices.testing.RecordingControl;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IsaDebugExitTest {
    @Test
    void writeRequestsExitWithValueShiftedAndOrOne() {
        var control = new RecordingControl();
        var dev = new IsaDebugExit(0xf4, 4, control);
        dev.write(0, 4, 0x10);
        dev.write(0, 1, 0);
        dev.write(0, 2, 0x7f);
        assertThat(control.requests()).containsExactly("exit 33", "exit 1", "exit 255");
        assertThat(dev.read(0, 4)).isZero();
    }

    @Test
    void badSizesAreRefusedWithAClearMessage() {
        assertThatThrownBy(() -> new IsaDebugExit(0xf4, 3, new RecordingControl()))
                .isInstanceOf(DeviceException.class).hasMessageContaining("iosize");
        assertThatThrownBy(() -> new IsaDebugExit(0xfffe, 4, new RecordingControl()))
                .isInstanceOf(DeviceException.class).hasMessageContaining("iobase");
    }

    @Test
    void postCodePortSwallowsWritesAndReadsAllOnes() {
        var port = new PostCodePort();
        port.write(0, 1, 0x42);
        assertThat(port.lastCode()).isEqualTo(0x42);
        assertThat(port.read(0, 1)).isEqualTo(0xff);
        assertThat(port.read(0, 2)).isEqualTo(0xffff);
    }
}
