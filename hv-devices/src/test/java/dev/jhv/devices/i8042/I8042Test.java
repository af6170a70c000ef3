package dev.jhv.devices.i8042;

import dev.jhv.devices.testing.RecordingControl;
import dev.jhv.devices.testing.RecordingIrq;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class I8042Test {
    RecordingIrq kbdIrq;
    RecordingIrq auxIrq;
    RecordingControl control;
    I8042 kbc;

    @BeforeEach
    void setUp() {
        kbdIrq = new RecordingIrq();
        auxIrq = new RecordingIrq();
        control = new RecordingControl();
        kbc = new I8042(kbdIrq, auxIrq, control);
    }

    int status() {
        return (int) kbc.commandPort().read(0, 1);
    }

    void command(int cmd) {
        kbc.commandPort().write(0, 1, cmd);
    }

    void data(int value) {
        kbc.dataPort().write(0, 1, value);
    }

    int readData() {
        return (int) kbc.dataPort().read(0, 1);
    }

    /** Reads the output buffer while OBF is set, the way a driver polls. */
    List<Integer> drain() {
        var out = new ArrayList<Integer>();
        for (int i = 0; i < 32 && (status() & 1) != 0; i++) {
            out.add(readData());
        }
        return out;
    }

    @Test
    void selfTestAndInterfaceTests() {
        assertThat(status() & 0x04).as("system flag clear before self-test").isZero();
        command(0xaa);
        assertThat(status() & 0x01).isEqualTo(1);
        assertThat(drain()).containsExactly(0x55);
        assertThat(status() & 0x04).as("system flag set by self-test").isEqualTo(0x04);
        command(0xab);
        assertThat(drain()).containsExactly(0x00);
        command(0xa9);
        assertThat(drain()).containsExactly(0x00);
        assertThat(status() & 0x01).isZero();
    }

    @Test
    void commandByteReadWriteAndEnableDisableBits() {
        command(0x20);
        assertThat(drain()).containsExactly(0x03);
        command(0x60);
        assertThat(status() & 0x08).as("A2: last write was a command").isEqualTo(0x08);
        data(0x45);
        assertThat(status() & 0x08).isZero();
        command(0x20);
        assertThat(drain()).containsExactly(0x45);
        command(0xae);
        command(0xa7);
        command(0x20);
        assertThat(drain()).containsExactly((0x45 & ~0x10) | 0x20);
        command(0xad);
        command(0xa8);
        command(0x20);
        assertThat(drain()).containsExactly(0x45 | 0x10);
    }

    @Test
    void outputBufferRaisesIrq1OnlyWhenEnabledInCommandByte() {
        command(0x60);
        data(0x00); // interrupts off
        command(0xaa);
        assertThat(kbdIrq.level()).isFalse();
        readData();
        command(0x60);
        data(0x01);
        command(0xaa);
        assertThat(kbdIrq.level()).isTrue();
        assertThat(readData()).isEqualTo(0x55);
        assertThat(kbdIrq.level()).isFalse();
        assertThat(readData()).as("empty buffer reads the last byte again").isEqualTo(0x55);
    }

    @Test
    void eachQueuedByteGivesItsOwnEdge() {
        data(0xff); // keyboard reset: ACK, BAT
        assertThat(kbdIrq.risingEdges()).isEqualTo(1);
        assertThat(readData()).isEqualTo(0xfa);
        assertThat(kbdIrq.level()).isTrue();
        assertThat(kbdIrq.risingEdges()).isEqualTo(2);
        assertThat(readData()).isEqualTo(0xaa);
        assertThat(kbdIrq.level()).isFalse();
    }

    @Test
    void keyboardAnswersItsCommands() {
        data(0xff);
        assertThat(drain()).containsExactly(0xfa, 0xaa);
        data(0xf2);
        assertThat(drain()).containsExactly(0xfa, 0xab, 0x83);
        data(0xf5);
        assertThat(drain()).containsExactly(0xfa);
        data(0xf4);
        assertThat(drain()).containsExactly(0xfa);
        data(0xed);
        assertThat(drain()).containsExactly(0xfa);
        data(0x07); // LED state is a parameter, not a command
        assertThat(drain()).containsExactly(0xfa);
        data(0xf0);
        data(0x00);
        assertThat(drain()).containsExactly(0xfa, 0xfa, 0x02);
        data(0xee);
        assertThat(drain()).containsExactly(0xee);
        data(0x12);
        assertThat(drain()).as("unknown command asks for resend").containsExactly(0xfe);
        assertThat(status() & 0x20).as("keyboard data is not aux data").isZero();
    }

    @Test
    void identifyIsTranslatedWhenTheCommandByteAsks() {
        command(0x60);
        data(0x41 | 0x40);
        data(0xf2);
        assertThat(drain()).containsExactly(0xfa, 0xab, 0x41);
    }

    @Test
    void auxLoopbackAndIdleMouse() {
        command(0xd3);
        data(0x5a);
        assertThat(status() & 0x21).isEqualTo(0x21);
        assertThat(auxIrq.level()).isTrue();
        assertThat(kbdIrq.level()).isFalse();
        assertThat(drain()).containsExactly(0x5a);
        assertThat(auxIrq.level()).isFalse();
        command(0xd4);
        data(0xff);
        assertThat(drain()).containsExactly(0xfa, 0xaa, 0x00);
        command(0xd4);
        data(0xf2);
        assertThat(drain()).containsExactly(0xfa, 0x00);
        command(0xd4);
        data(0xf3);
        command(0xd4);
        data(100);
        assertThat(drain()).containsExactly(0xfa, 0xfa);
        command(0xd2);
        data(0x1c);
        assertThat(status() & 0x21).isEqualTo(0x01);
        assertThat(drain()).containsExactly(0x1c);
    }

    @Test
    void outputPortReadWriteAndResetLine() {
        command(0xd0);
        int port = drain().getFirst();
        assertThat(port & 0x03).as("reset line high, A20 on").isEqualTo(0x03);
        command(0xd1);
        data(0xdf); // A20 on, reset line kept high
        assertThat(control.requests()).isEmpty();
        command(0xd0);
        assertThat(drain()).containsExactly(0xdf & ~0x30);
        command(0xd1);
        data(0xde); // bit 0 clear: reset
        assertThat(control.requests()).containsExactly("reset");
    }

    @Test
    void pulseOutputLinesResetsOnlyWhenMaskBit0IsClear() {
        command(0xff);
        command(0xfd);
        assertThat(control.requests()).isEmpty();
        command(0xfe);
        assertThat(control.requests()).containsExactly("reset");
        command(0xf0);
        assertThat(control.requests()).containsExactly("reset", "reset");
    }

    @Test
    void resetRestoresPowerOnState() {
        command(0xaa);
        command(0x60);
        data(0x00);
        data(0xff);
        kbc.reset();
        assertThat(status()).isEqualTo(0x18);
        command(0x20);
        assertThat(drain()).containsExactly(0x03);
    }
}
