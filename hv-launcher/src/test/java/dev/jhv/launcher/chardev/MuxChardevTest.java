package dev.jhv.launcher.chardev;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jhv.core.machine.MachineConfig;
import dev.jhv.launcher.monitor.CommandTable;
import dev.jhv.launcher.monitor.Monitor;
import dev.jhv.launcher.testing.FakeMachine;
import dev.jhv.launcher.testing.Output;
import dev.jhv.launcher.testing.RecordingFrontend;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** -nographic's multiplexer over piped "stdio": serial console and monitor sharing one terminal. */
class MuxChardevTest {
    PipedOutputStream keyboard;
    Output screen;
    MuxChardev mux;
    Chardev serialPort;
    RecordingFrontend uart;
    FakeMachine machine;
    CountDownLatch quit;

    @BeforeEach
    void setUp() throws IOException {
        keyboard = new PipedOutputStream();
        var stdin = new PipedInputStream(keyboard, 4096);
        screen = new Output();
        quit = new CountDownLatch(1);
        mux = new MuxChardev(new StdioChardev(stdin, screen, false, false), quit::countDown);
        serialPort = mux.addPort();
        Chardev monitorPort = mux.addPort();
        uart = new RecordingFrontend(64);
        serialPort.attach(uart);
        machine = new FakeMachine(new MachineConfig(null, 128L << 20, MachineConfig.Smp.of(1), "qemu64", null, null,
                null, false, false, false), serialPort);
        machine.start();
        new Monitor(monitorPort, machine, CommandTable.standard());
        mux.start();
    }

    @AfterEach
    void tearDown() throws IOException {
        keyboard.close();
        mux.close();
    }

    private void type(String s) throws IOException {
        keyboard.write(s.getBytes(StandardCharsets.ISO_8859_1));
        keyboard.flush();
    }

    @Test
    void serialHasTheFocusFirstAndBothPortsWriteToTheScreen() throws Exception {
        type("ls\r");
        uart.received.await("ls\r");
        assertThat(screen.text()).as("the monitor stays quiet until it has the focus").isEmpty();
        byte[] out = "guest says hi\r\n".getBytes(StandardCharsets.US_ASCII);
        serialPort.write(out, 0, out.length);
        assertThat(screen.text()).isEqualTo("guest says hi\r\n");
    }

    @Test
    void ctrlACSwitchesToTheMonitorAndBack() throws Exception {
        type("\u0001c");
        int at = screen.await("jhv 0.1.0 monitor - type 'help' for more information\r\n(qemu) ");
        type("info status\r");
        at = screen.await("VM status: running\r\n(qemu) ", at);
        assertThat(uart.received.text()).as("monitor input does not reach the guest").isEmpty();
        type("\u0001c");
        type("x");
        uart.received.await("x");
        type("\u0001c");
        screen.await("(qemu) ", at);
        assertThat(screen.text()).as("banner only once").containsOnlyOnce("monitor - type 'help'");
        type("stop\r");
        screen.await("stop\r\n(qemu) ", at);
        assertThat(machine.runState().qapiName()).isEqualTo("paused");
    }

    @Test
    void vcpuSignallingRoomWhileAMonitorCommandWaitsForItDoesNotDeadlock() throws Exception {
        var vcpuDone = new CountDownLatch(1);
        machine.onStop = () -> {
            // "stop" waits for the vCPU, which is inside the UART telling the back end it has room again
            Thread.ofPlatform().name("fake-vcpu").start(() -> {
                serialPort.frontendReady();
                vcpuDone.countDown();
            });
            try {
                assertThat(vcpuDone.await(10, TimeUnit.SECONDS)).as("vCPU not blocked by the mux").isTrue();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        };
        type("\u0001c");
        int at = screen.await("(qemu) ");
        type("stop\r");
        screen.await("stop\r\n(qemu) ", at);
        assertThat(machine.runState().qapiName()).isEqualTo("paused");
    }

    @Test
    void ctrlAHPrintsHelp() throws Exception {
        type("\u0001h");
        screen.await("C-a C-a  sends C-a\r\n");
        assertThat(screen.text()).contains("C-a h    print this help\r\n", "C-a x    exit emulator\r\n",
                "C-a c    switch between console and monitor\r\n");
        assertThat(uart.received.text()).isEmpty();
    }

    @Test
    void ctrlAXQuits() throws Exception {
        type("ab\u0001x");
        assertThat(quit.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(screen.text()).contains("jhv: Terminated");
        assertThat(uart.received.text()).isEqualTo("ab");
    }

    @Test
    void ctrlACtrlASendsCtrlA() throws Exception {
        type("\u0001\u0001z");
        uart.received.await("z");
        assertThat(uart.received.bytes()).containsExactly(0x01, 'z');
    }

    @Test
    void unknownEscapeIsDropped() throws Exception {
        type("\u0001qz");
        uart.received.await("z");
        assertThat(uart.received.text()).isEqualTo("z");
    }

    @Test
    void fullFrontendHoldsInputUntilReadyAndCtrlAStillWorks() throws Exception {
        uart.setRoom(0);
        type("hello");
        type("\u0001h");    // handled by the mux although the UART takes nothing
        screen.await("C-a h    print this help");
        assertThat(uart.received.text()).isEmpty();
        uart.setRoom(3);
        serialPort.frontendReady();
        uart.received.await("hel");
        assertThat(uart.received.text()).isEqualTo("hel");
        uart.setRoom(16);
        serialPort.frontendReady();
        uart.received.await("hello");
        assertThat(uart.received.text()).isEqualTo("hello");
    }
}
