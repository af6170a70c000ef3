package dev.jhv.migration.channel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExecPipeTest {
    @Test
    void aCommandWritesAWholeMegabyteBeforeJhvReadsAByte() throws Exception {
        // through the kernel's default 64 KiB pipe, head would block until jhv read
        var started = ExecPipe.reading("head -c 1000000 /dev/zero");
        try (var in = started.in()) {
            assertThat(started.process().waitFor(10, TimeUnit.SECONDS)).as("head finished unread").isTrue();
            assertThat(started.process().exitValue()).isZero();
            assertThat(in.readAllBytes()).hasSize(1_000_000);
        }
    }

    @Test
    void whatJhvWritesReachesTheCommandsInput(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("out.bin");
        var started = ExecPipe.writing("cat > '" + file + "'");
        byte[] data = new byte[3 << 20];
        Arrays.fill(data, (byte) 0x5a);
        data[data.length - 1] = 1;
        try (var out = started.out()) {
            out.write(data);
        }
        assertThat(started.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(started.process().exitValue()).isZero();
        assertThat(Files.readAllBytes(file)).isEqualTo(data);
    }

    @Test
    void theCommandSeesNoInputWhenJhvReads() throws Exception {
        var started = ExecPipe.reading("cat; echo done");
        try (var in = started.in()) {
            assertThat(new String(in.readAllBytes())).isEqualTo("done\n");
        }
        assertThat(started.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
    }
}
