package dev.jhv.devices.serial;

import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.chardev.CharFrontend;
import dev.jhv.devices.testing.RecordingIrq;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class Uart16550Test {
    static final int RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6,
            SCR = 7;

    /** A back end that records output and counts frontendReady calls. */
    static final class Backend implements CharBackend {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final AtomicInteger readyCalls = new AtomicInteger();
        volatile CharFrontend frontend;

        @Override
        public synchronized void write(byte[] data, int offset, int length) {
            out.write(data, offset, length);
        }

        @Override
        public void attach(CharFrontend frontend) {
            this.frontend = frontend;
        }

        @Override
        public void frontendReady() {
            readyCalls.incrementAndGet();
        }

        synchronized String text() {
            return out.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
        }
    }

    Backend backend;
    RecordingIrq irq;
    Uart16550 uart;

    @BeforeEach
    void setUp() {
        backend = new Backend();
        irq = new RecordingIrq();
        uart = new Uart16550("com1", backend, irq);
    }

    int in(int reg) {
        return (int) uart.read(reg, 1);
    }

    void out(int reg, int value) {
        uart.write(reg, 1, value);
    }

    void receive(String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        uart.receive(b, 0, b.length);
    }

    @Test
    void thrBytesGoToBackendAndTransmitterIsAlwaysEmpty() {
        for (char c : "hello".toCharArray()) {
            out(THR, c);
            assertThat(in(LSR) & 0x60).isEqualTo(0x60);
        }
        assertThat(backend.text()).isEqualTo("hello");
        assertThat(in(LSR)).isEqualTo(0x60);
    }

    @Test
    void dlabSwitchesPortsZeroAndOneToDivisorLatch() {
        out(IER, 0x05);
        out(LCR, 0x83);
        out(DLL, 0x01);
        out(DLM, 0x02);
        assertThat(backend.text()).isEmpty();
        assertThat(in(DLL)).isEqualTo(0x01);
        assertThat(in(DLM)).isEqualTo(0x02);
        out(LCR, 0x03);
        assertThat(in(IER)).isEqualTo(0x05);
        assertThat(in(LCR)).isEqualTo(0x03);
        out(THR, 'x');
        assertThat(backend.text()).isEqualTo("x");
        out(LCR, 0x83);
        assertThat(in(DLL) | in(DLM) << 8).isEqualTo(0x0201);
    }

    @Test
    void threInterruptOnEnableClearedByIirReadAndGatedByOut2() {
        assertThat(in(IIR)).isEqualTo(0x01);
        out(IER, 0x02);
        assertThat(irq.level()).as("OUT2 clear: no IRQ on a PC").isFalse();
        out(MCR, 0x08);
        assertThat(irq.level()).isTrue();
        assertThat(in(IIR)).isEqualTo(0x02);
        assertThat(irq.level()).as("IIR read acknowledges THRE").isFalse();
        assertThat(in(IIR)).isEqualTo(0x01);
    }

    @Test
    void thrWriteGivesAFreshEdgeForEachByte() {
        out(MCR, 0x08);
        out(IER, 0x02);
        int edges = irq.risingEdges();
        out(THR, 'a');
        out(THR, 'b');
        assertThat(irq.risingEdges()).isEqualTo(edges + 2);
        assertThat(in(IIR)).isEqualTo(0x02);
        out(IER, 0x00);
        assertThat(irq.level()).isFalse();
        assertThat(in(IIR)).isEqualTo(0x01);
    }

    @Test
    void interruptPriorityLineStatusThenDataThenThreThenModem() {
        out(FCR, 0x07 | 0xc0); // FIFO on, trigger 14
        out(IER, 0x0f);
        out(MCR, 0x08);
        // Overrun: fill beyond 16 bytes.
        receive("0123456789abcdefXY");
        assertThat(in(IIR)).isEqualTo(0xc6);
        assertThat(irq.level()).isTrue();
        assertThat(in(LSR) & 0x03).as("OE and DR").isEqualTo(0x03);
        assertThat(in(LSR) & 0x02).as("OE clears on read").isZero();
        assertThat(in(IIR)).isEqualTo(0xc4);
        StringBuilder got = new StringBuilder();
        while ((in(LSR) & 1) != 0) {
            got.append((char) in(RBR));
        }
        assertThat(got.toString()).as("FIFO kept, overrun bytes lost").isEqualTo("0123456789abcdef");
        assertThat(in(IIR)).isEqualTo(0xc2);
        assertThat(in(IIR)).as("THRE acknowledged; no modem status change yet").isEqualTo(0xc1);
        assertThat(irq.level()).isFalse();
    }

    @Test
    void modemStatusInterruptIsLowestAndClearedByMsrRead() {
        out(IER, 0x08 | 0x02);
        out(MCR, 0x08 | 0x02 | 0x01); // OUT2, RTS, DTR: not loopback, host lines unchanged
        assertThat(in(IIR)).isEqualTo(0x02);
        out(MCR, 0x10); // loopback: CTS/DSR/DCD follow RTS/DTR/OUT2 = all off -> deltas
        assertThat(in(IIR)).isEqualTo(0x00);
        assertThat(in(MSR)).isEqualTo(0x01 | 0x02 | 0x08);
        assertThat(in(MSR)).as("delta bits clear on read").isZero();
        assertThat(in(IIR)).isEqualTo(0x01);
    }

    @Test
    void receiveTriggerLevelsAndCharacterTimeout() {
        out(IER, 0x01);
        out(MCR, 0x08);
        out(FCR, 0x81); // FIFO on, trigger 8
        receive("abcd");
        assertThat(in(IIR)).as("below trigger: character timeout").isEqualTo(0xcc);
        assertThat(irq.level()).isTrue();
        receive("efgh");
        assertThat(in(IIR)).as("at trigger: data available").isEqualTo(0xc4);
        for (int i = 0; i < 8; i++) {
            in(RBR);
        }
        assertThat(in(IIR)).isEqualTo(0xc1);
        assertThat(irq.level()).isFalse();

        out(FCR, 0x41); // trigger 4
        receive("1234");
        assertThat(in(IIR)).isEqualTo(0xc4);
        assertThat(in(RBR)).isEqualTo('1');
        assertThat(in(IIR)).as("3 left, below trigger 4").isEqualTo(0xcc);
        out(FCR, 0x01); // trigger 1
        assertThat(in(IIR)).isEqualTo(0xc4);
        out(FCR, 0xc1); // trigger 14
        assertThat(in(IIR)).isEqualTo(0xcc);
    }

    @Test
    void withoutFifoTheHoldingRegisterTakesOneByte() {
        out(IER, 0x01);
        assertThat(uart.canReceive()).isEqualTo(1);
        receive("a");
        assertThat(uart.canReceive()).isZero();
        assertThat(in(IIR)).isEqualTo(0x04);
        assertThat(in(LSR) & 1).isEqualTo(1);
        assertThat(in(RBR)).isEqualTo('a');
        assertThat(in(LSR) & 1).isZero();
        receive("bc");
        assertThat(in(LSR) & 0x02).as("overrun").isEqualTo(0x02);
        assertThat(in(RBR)).as("newer byte overwrote the unread one").isEqualTo('c');
    }

    @Test
    void canReceiveIsFifoRoomAndBackendIsToldWhenDrained() {
        out(FCR, 0x01);
        assertThat(uart.canReceive()).isEqualTo(16);
        receive("0123456789");
        assertThat(uart.canReceive()).isEqualTo(6);
        int ready = backend.readyCalls.get();
        for (int i = 0; i < 9; i++) {
            in(RBR);
        }
        assertThat(backend.readyCalls.get()).isEqualTo(ready);
        assertThat(in(RBR)).isEqualTo('9');
        assertThat(backend.readyCalls.get()).isEqualTo(ready + 1);
        assertThat(uart.canReceive()).isEqualTo(16);
    }

    @Test
    void fifoResetBitsAndEnableToggleClearTheReceiver() {
        out(FCR, 0x01);
        receive("abc");
        out(FCR, 0x03); // RX reset
        assertThat(in(LSR) & 1).isZero();
        assertThat(uart.canReceive()).isEqualTo(16);
        receive("abc");
        int ready = backend.readyCalls.get();
        out(FCR, 0x00); // disabling clears, and FIFO bits leave IIR
        assertThat(in(LSR) & 1).isZero();
        assertThat(in(IIR)).isEqualTo(0x01);
        assertThat(backend.readyCalls.get()).isGreaterThan(ready);
        out(FCR, 0x06); // FCR0 clear: reset bits are not programmed, FIFO stays off
        assertThat(in(IIR) & 0xc0).isZero();
        assertThat(uart.canReceive()).isEqualTo(1);
    }

    @Test
    void loopbackSendsThrToReceiverAndModemLinesFollowMcr() {
        out(FCR, 0x01);
        out(IER, 0x01);
        out(MCR, 0x10 | 0x08 | 0x02); // loop, OUT2, RTS
        assertThat(in(MSR) & 0xf0).isEqualTo(0x10 | 0x80); // CTS from RTS, DCD from OUT2
        out(MCR, 0x10 | 0x04 | 0x01); // OUT1, DTR
        assertThat(in(MSR)).isEqualTo(0x40 | 0x20 | 0x01 | 0x02 | 0x08); // RI, DSR + deltas CTS, DSR, DCD
        out(MCR, 0x10);
        assertThat(in(MSR) & 0x04).as("trailing edge of RI").isEqualTo(0x04);
        assertThat(uart.canReceive()).as("serial input disconnected").isZero();
        out(THR, 'Q');
        assertThat(backend.text()).isEmpty();
        assertThat(in(LSR) & 1).isEqualTo(1);
        assertThat(in(RBR)).isEqualTo('Q');
        out(MCR, 0x18);
        out(THR, 'R');
        assertThat(in(IIR) & 0x0f).isNotEqualTo(0x01);
        assertThat(irq.level()).as("OUT2 pin is forced inactive in loopback").isFalse();
        in(RBR);
        int ready = backend.readyCalls.get();
        out(MCR, 0x08);
        assertThat(backend.readyCalls.get()).as("leaving loopback reconnects the host").isGreaterThan(ready);
        assertThat(in(MSR) & 0xf0).isEqualTo(0xb0);
    }

    @Test
    void scratchRegisterAndResetState() {
        out(SCR, 0x5a);
        assertThat(in(SCR)).isEqualTo(0x5a);
        out(IER, 0x0f);
        out(MCR, 0x08);
        uart.reset();
        assertThat(in(SCR)).isZero();
        assertThat(in(IER)).isZero();
        assertThat(in(IIR)).isEqualTo(0x01);
        assertThat(in(LSR)).isEqualTo(0x60);
        assertThat(in(MSR)).isEqualTo(0xb0);
        assertThat(irq.level()).isFalse();
    }

    @Test
    void wideAccessesAndOutOfRangeOffsetsDoNotBreakTheDevice() {
        uart.write(7, 1, 0x33);
        assertThat(uart.read(6, 2) >>> 8).isEqualTo(0x33);
        assertThat(uart.read(100, 1)).isEqualTo(0xff);
        uart.write(100, 4, 0xffffffffL);
        assertThat(in(LSR)).isEqualTo(0x60);
    }

    @Test
    void hostThreadAndGuestThreadExchangeBytesInOrder() throws Exception {
        out(FCR, 0x01);
        int total = 20_000;
        Thread host = Thread.ofPlatform().name("uart-test-host").start(() -> {
            int sent = 0;
            while (sent < total) {
                int room = uart.canReceive();
                if (room == 0) {
                    Thread.onSpinWait();
                    continue;
                }
                int n = Math.min(room, total - sent);
                byte[] b = new byte[n];
                for (int i = 0; i < n; i++) {
                    b[i] = (byte) (sent + i);
                }
                uart.receive(b, 0, n);
                sent += n;
            }
        });
        int got = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (got < total && System.nanoTime() < deadline) {
            if ((in(LSR) & 1) != 0) {
                assertThat(in(RBR)).isEqualTo(got & 0xff);
                got++;
            }
        }
        host.join(TimeUnit.SECONDS.toMillis(5));
        assertThat(got).isEqualTo(total);
        assertThat(in(LSR) & 0x02).as("no overrun").isZero();
    }

    /** Paused with the machine, the UART takes no host input (the back end keeps it); resuming asks for it again. */
    @Test
    void pausedTakesNoInputAndResumeAsksForIt() {
        assertThat(uart.canReceive()).isPositive();
        uart.pause();
        assertThat(uart.canReceive()).isZero();
        int ready = backend.readyCalls.get();
        uart.resume();
        assertThat(uart.canReceive()).isPositive();
        assertThat(backend.readyCalls.get()).isGreaterThan(ready);
    }
}
