package dev.jhv.launcher.migration;

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
}
