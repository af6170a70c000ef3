package dev.jhv.migration.channel;

import dev.jhv.migration.control.Migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MigrationChannelTest {
    @Test
    void aMissingFileSaysWhy(@TempDir Path dir) {
        Path missing = dir.resolve("nope.bin");
        assertThatThrownBy(() -> MigrationChannel.openIncoming(new MigrationUri.File(missing)))
                .isInstanceOf(IOException.class)
                .hasMessage("cannot open " + missing + ": No such file or directory");
        Path noDir = dir.resolve("no/such/dir/out.bin");
        assertThatThrownBy(() -> MigrationChannel.openOutgoing(new MigrationUri.File(noDir)))
                .isInstanceOf(IOException.class)
                .hasMessage("cannot open " + noDir + ": No such file or directory");
    }

    @Test
    void aCommandThatExitsIsTheReasonNotTheBrokenPipe() {
        Exception failure = null;
        // as Migration.migrate writes: through the channel, closed by try-with-resources
        try (MigrationChannel.Out ch = MigrationChannel.openOutgoing(new MigrationUri.Exec("exit 3"))) {
            byte[] chunk = new byte[1 << 16];
            for (int i = 0; i < 1024; i++) { // 64 MiB: more than any pipe holds, so the write fails
                ch.stream.write(chunk);
            }
            ch.stream.flush();
        } catch (IOException e) {
            failure = e;
        }
        assertThat(failure).isNotNull();
        assertThat(Migration.reason(failure)).isEqualTo("the exec: command exited with status 3 (Broken pipe)");
    }

    @Test
    void anUncheckedIoErrorIsReportedByItsCause() {
        var e = new java.io.UncheckedIOException(new IOException("No space left on device"));
        assertThat(Migration.reason(e)).isEqualTo("No space left on device");
    }
}
