package dev.jhv.migration.channel;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MigrationUriTest {
    @Test
    void qemusSpellings() {
        assertThat(MigrationUri.parse("tcp:0:6666")).isEqualTo(new MigrationUri.Tcp("0", 6666));
        assertThat(((MigrationUri.Tcp) MigrationUri.parse("tcp::6666")).bindHost()).isEqualTo("0.0.0.0");
        assertThat(((MigrationUri.Tcp) MigrationUri.parse("tcp:0:6666")).bindHost()).isEqualTo("0.0.0.0");
        assertThat(MigrationUri.parse("tcp:[::1]:7000")).isEqualTo(new MigrationUri.Tcp("::1", 7000));
        assertThat(MigrationUri.parse("tcp:desthost:6666")).isEqualTo(new MigrationUri.Tcp("desthost", 6666));
        assertThat(MigrationUri.parse("unix:/tmp/m.sock")).isEqualTo(new MigrationUri.Unix(Path.of("/tmp/m.sock")));
        assertThat(MigrationUri.parse("fd:5")).isEqualTo(new MigrationUri.Fd(5));
        assertThat(MigrationUri.parse("\"exec:cat > x\"")).isEqualTo(new MigrationUri.Exec("cat > x"));
        assertThat(MigrationUri.parse("tcp:h:1").hasReturnPath()).isTrue();
        assertThat(MigrationUri.parse("exec:cat").hasReturnPath()).isFalse();
    }

    @Test
    void badOnesSayWhatIsWrong() {
        assertThatThrownBy(() -> MigrationUri.parse("tcp:host")).hasMessageContaining("expected tcp:HOST:PORT");
        assertThatThrownBy(() -> MigrationUri.parse("tcp:host:99999")).hasMessageContaining("is not a port number");
        assertThatThrownBy(() -> MigrationUri.parse("tcp:[::1:5")).hasMessageContaining("tcp:[IPV6]:PORT");
        assertThatThrownBy(() -> MigrationUri.parse("fd:x")).hasMessageContaining("fd: needs a descriptor number");
        assertThatThrownBy(() -> MigrationUri.parse("rdma:h:1")).hasMessageContaining("unknown migration protocol: "
                + "'rdma'");
        assertThatThrownBy(() -> MigrationUri.parse("unix:")).hasMessageContaining("needs a socket path");
    }

    /** The cap cuts what goes to the wire into pieces no larger than a window's share (100 ms of the rate). */
    @Test
    void theRateCapCutsWritesIntoWindowSizedPieces() throws Exception {
        List<Integer> pieces = new ArrayList<>();
        OutputStream sink = new OutputStream() {
            @Override
            public void write(int b) {
                pieces.add(1);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                pieces.add(len);
            }
        };
        var capped = new RateLimitedOutputStream(sink, 1_000_000);
        capped.write(new byte[250_000]);
        assertThat(pieces).allMatch(n -> n <= 100_000);
        assertThat(pieces.stream().mapToInt(Integer::intValue).sum()).isEqualTo(250_000);
        assertThat(capped.written()).isEqualTo(250_000);
        // no cap: the stream's own chunking only
        var free = new RateLimitedOutputStream(new ByteArrayOutputStream(), 0);
        free.write(new byte[1 << 20]);
        assertThat(free.written()).isEqualTo(1 << 20);
    }
}
