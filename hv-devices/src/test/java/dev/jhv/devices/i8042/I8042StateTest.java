package dev.jhv.devices.i8042;

import dev.jhv.devices.testing.RecordingControl;
import dev.jhv.devices.testing.RecordingIrq;
import dev.jhv.core.device.StatefulRoundTrip;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class I8042StateTest {
    final RecordingIrq kbdIrq = new RecordingIrq();
    final RecordingIrq auxIrq = new RecordingIrq();
    final I8042 kbc = new I8042(kbdIrq, auxIrq, new RecordingControl());

    @Test
    void roundTripsRandomStates() {
        StatefulRoundTrip.checkRandomised(() -> new I8042(new RecordingIrq(), new RecordingIrq(), new RecordingControl()), 8);
    }

    @Test
    void queuedKeyboardAndMouseBytesSurviveInOrderWithTheirIrqs() {
        kbc.dataPort().write(0, 1, 0xf2);      // keyboard identify: FA AB 83
        kbc.commandPort().write(0, 1, 0xd4);   // to the mouse:
        kbc.dataPort().write(0, 1, 0xf2);      // identify: FA 00 (aux)
        kbc.commandPort().write(0, 1, 0x60);   // command byte: translation on
        kbc.dataPort().write(0, 1, 0x43);      // (keyboard and mouse interrupts on, XLATE)
        assertThat(kbc.dataPort().read(0, 1)).isEqualTo(0xfa); // consume one before saving

        byte[] state = kbc.saveState();
        var kbd2 = new RecordingIrq();
        var aux2 = new RecordingIrq();
        var fresh = new I8042(kbd2, aux2, new RecordingControl());
        fresh.loadState(state, 1);

        assertThat(kbd2.level()).isTrue();
        assertThat(aux2.level()).isFalse();
        assertThat(fresh.commandPort().read(0, 1) & (I8042.STAT_OBF | I8042.STAT_AUX_OBF))
                .isEqualTo(I8042.STAT_OBF);
        assertThat(fresh.dataPort().read(0, 1)).isEqualTo(0xab);
        assertThat(fresh.dataPort().read(0, 1)).isEqualTo(0x83);
        assertThat(aux2.level()).as("mouse byte next: IRQ 12").isTrue();
        assertThat(fresh.commandPort().read(0, 1) & I8042.STAT_AUX_OBF).isEqualTo(I8042.STAT_AUX_OBF);
        assertThat(fresh.dataPort().read(0, 1)).isEqualTo(0xfa);
        assertThat(fresh.dataPort().read(0, 1)).isEqualTo(0x00);
        assertThat(fresh.commandPort().read(0, 1) & I8042.STAT_OBF).isZero();
        assertThat(fresh.dataPort().read(0, 1)).as("last byte read back").isEqualTo(0x00);

        // The command byte came back: translation is on, so the scan set answer is translated.
        fresh.dataPort().write(0, 1, 0xf0);
        fresh.dataPort().write(0, 1, 0x00);
        assertThat(fresh.dataPort().read(0, 1)).isEqualTo(0xfa); // for the command
        assertThat(fresh.dataPort().read(0, 1)).isEqualTo(0xfa); // for its parameter
        assertThat(fresh.dataPort().read(0, 1)).isEqualTo(0x41); // set 2, translated
    }
}
