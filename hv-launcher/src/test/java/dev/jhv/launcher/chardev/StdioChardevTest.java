package dev.jhv.launcher.chardev;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jhv.launcher.testing.Output;
import dev.jhv.launcher.testing.RecordingFrontend;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StdioChardevTest {
    @Test
    void inputWaitsForRoomAndArrivesInOrder() throws Exception {
        var keyboard = new PipedOutputStream();
        var screen = new Output();
        var dev = new StdioChardev(new PipedInputStream(keyboard), screen, false, true);
        var uart = new RecordingFrontend(2);
        dev.attach(uart);
        dev.start();
        keyboard.write("abcdef".getBytes(StandardCharsets.US_ASCII));
        keyboard.flush();
        uart.received.await("ab");
        uart.setRoom(0);
        uart.setRoom(100);
        dev.frontendReady();
        uart.received.await("abcdef");
        assertThat(uart.received.text()).isEqualTo("abcdef");
        byte[] out = "out".getBytes(StandardCharsets.US_ASCII);
        dev.write(out, 0, 3);
        assertThat(screen.text()).isEqualTo("out");
        keyboard.close();
        dev.close();
    }

    @Test
    void inputThreadIsNamedAndDaemon() throws Exception {
        var keyboard = new PipedOutputStream();
        var dev = new StdioChardev(new PipedInputStream(keyboard), new Output(), false, true);
        dev.start();
        var t = Thread.getAllStackTraces().keySet().stream()
                .filter(x -> x.getName().equals("chardev-stdio-in")).findFirst();
        assertThat(t).isPresent();
        assertThat(t.get().isDaemon()).isTrue();
        keyboard.close();
    }

    @Test
    void pipedStdinIsNoTerminal() {
        // surefire runs tests with stdin from a pipe or /dev/null: raw mode must not be attempted
        assertThat(TerminalMode.stdinIsTerminal()).isFalse();
        assertThat(TerminalMode.enterRawIfTerminal(true)).isNull();
    }

    @Test
    void fileTruncatesAndNullSwallows(@TempDir Path dir) throws IOException {
        Path log = Files.writeString(dir.resolve("serial.log"), "old contents that must go");
        var file = new FileChardev(log);
        file.write("new".getBytes(StandardCharsets.US_ASCII), 0, 3);
        file.close();
        assertThat(Files.readString(log)).isEqualTo("new");
        var nul = new NullChardev();
        nul.write(new byte[10], 0, 10);
        assertThat(nul.isConnected()).isTrue();
        assertThat(org.assertj.core.api.Assertions.catchThrowable(
                () -> new FileChardev(dir.resolve("no/such/dir/x")))).hasMessageStartingWith("could not open '");
    }
}
