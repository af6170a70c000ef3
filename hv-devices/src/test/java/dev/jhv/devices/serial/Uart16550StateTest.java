package dev.jhv.devices.serial;

import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.vmstate.VMStateException;
import dev.jhv.devices.testing.RecordingIrq;
import dev.jhv.core.device.StatefulRoundTrip;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Uart16550StateTest {
    static final int RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, SCR = 7;

    final Uart16550Test.Backend backend = new Uart16550Test.Backend();
    final RecordingIrq irq = new RecordingIrq();
    final Uart16550 uart = new Uart16550("com1", backend, irq);

    static int in(Uart16550 u, int reg) {
        return (int) u.read(reg, 1);
    }

    static void out(Uart16550 u, int reg, int value) {
        u.write(reg, 1, value);
    }

    @Test
    void roundTripsRandomStatesWithEverySubsectionOnAndOff() {
        StatefulRoundTrip.checkRandomised(() -> new Uart16550("com1", CharBackend.NULL, new RecordingIrq()), 8);
    }

    @Test
    void restoredUartRaisesItsIrqAndGivesThePendingBytes() {
        out(uart, FCR, 0x01);              // FIFO on
        out(uart, MCR, 0x08);              // OUT2: the interrupt reaches the PIC
        out(uart, IER, 0x02);              // THRE interrupt only
        uart.receive(new byte[] {'o', 'k', '!'}, 0, 3);
        out(uart, SCR, 0x5a);
        assertThat(irq.level()).isTrue();

        byte[] state = uart.saveState();

        var backend2 = new Uart16550Test.Backend();
        var irq2 = new RecordingIrq();
        var fresh = new Uart16550("com1", backend2, irq2);
        assertThat(irq2.level()).isFalse();
        int readyBefore = backend2.readyCalls.get();
        fresh.loadState(state, 1);

        assertThat(irq2.level()).as("IRQ re-driven from restored registers").isTrue();
        assertThat(backend2.readyCalls.get()).isGreaterThan(readyBefore);
        assertThat(in(fresh, SCR)).isEqualTo(0x5a);
        assertThat(in(fresh, LSR) & 0x01).as("DR").isEqualTo(1);
        assertThat(in(fresh, IIR)).isEqualTo(0xc2); // FIFO enabled, THRE interrupt (reading acknowledges it)
        assertThat(irq2.level()).isFalse();
        assertThat(new byte[] {(byte) in(fresh, RBR), (byte) in(fresh, RBR), (byte) in(fresh, RBR)})
                .containsExactly('o', 'k', '!');
        assertThat(in(fresh, LSR) & 0x01).isZero();
        // The restored FIFO still takes 16 bytes: FCR came back.
        assertThat(fresh.canReceive()).isEqualTo(16);
    }

    @Test
    void restoredDivisorAndLineControlReadBack() {
        out(uart, LCR, 0x83);
        out(uart, RBR, 0x01);   // DLL
        out(uart, IER, 0x00);   // DLM
        out(uart, LCR, 0x03);
        var fresh = new Uart16550("com1", CharBackend.NULL, new RecordingIrq());
        fresh.loadState(uart.saveState(), 1);
        assertThat(in(fresh, LCR)).isEqualTo(0x03);
        out(fresh, LCR, 0x83);
        assertThat(in(fresh, RBR) | in(fresh, IER) << 8).isEqualTo(1);
    }

    @Test
    void moreBytesThanTheReceiverHoldsIsRefusedAndLeavesTheDeviceAlone() {
        out(uart, FCR, 0x01);
        uart.receive(new byte[] {1, 2, 3, 4, 5}, 0, 5);
        byte[] state = uart.saveState();
        state[9] = 0; // fcr: FIFO off, so at most one byte can be pending

        var target = new Uart16550("com1", CharBackend.NULL, new RecordingIrq());
        out(target, SCR, 0x77);
        assertThatThrownBy(() -> target.loadState(state, 1))
                .isInstanceOf(VMStateException.class)
                .hasMessageContaining("serial")
                .hasMessageContaining("receive buffer holds 5 bytes");
        assertThat(in(target, SCR)).isEqualTo(0x77);
        assertThat(in(target, LSR) & 0x01).isZero();
    }

    @Test
    void aStreamWithoutSubsectionsClearsWhatTheTargetHadPending() {
        var quiet = new Uart16550("com1", CharBackend.NULL, new RecordingIrq());
        out(quiet, FCR, 0x01);
        byte[] state = quiet.saveState(); // empty FIFO, nothing pending: no subsections

        out(uart, FCR, 0x01);
        out(uart, MCR, 0x08);
        out(uart, IER, 0x03);
        uart.receive(new byte[] {9, 9}, 0, 2);
        assertThat(irq.level()).isTrue();
        uart.saveState(); // as a savevm before a loadvm would: the target's own state was captured
        uart.loadState(state, 1);

        assertThat(in(uart, LSR) & 0x01).as("no data pending").isZero();
        assertThat(in(uart, IIR)).isEqualTo(0xc1);
        assertThat(irq.level()).isFalse();
        assertThat(uart.canReceive()).isEqualTo(16);
    }

    @Test
    void hostInputDuringSaveAndLoadNeverCorruptsTheReceiver() throws Exception {
        out(uart, FCR, 0x01);
        uart.receive(new byte[] {1, 2, 3}, 0, 3);
        byte[] state = uart.saveState();
        var failure = new java.util.concurrent.atomic.AtomicReference<Throwable>();
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        var input = Thread.ofPlatform().start(() -> {
            try {
                while (!stop.get()) {
                    uart.receive(new byte[] {7}, 0, 1);
                    int room = uart.canReceive();
                    if (room < 0 || room > 16) {
                        throw new AssertionError("canReceive " + room);
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        try {
            for (int i = 0; i < 2000; i++) {
                uart.loadState(state, 1);
                byte[] again = uart.saveState();
                // Whatever arrived, the saved state is one the description loads back.
                (new Uart16550("c", CharBackend.NULL, new RecordingIrq())).loadState(again, 1);
            }
        } finally {
            stop.set(true);
            input.join(java.time.Duration.ofSeconds(30));
        }
        assertThat(input.isAlive()).isFalse();
        assertThat(failure.get()).isNull();
    }
}
