package dev.jhv.core.bus;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BusTest {
    /** Records accesses and answers reads with offset + size. */
    static final class Recorder implements BusHandler {
        final List<String> log = new ArrayList<>();

        @Override
        public long read(long offset, int size) {
            log.add("r " + offset + "/" + size);
            return offset * 16 + size;
        }

        @Override
        public void write(long offset, int size, long value) {
            log.add("w " + offset + "/" + size + "=" + Long.toHexString(value));
        }
    }

    @Test
    void dispatchesToTheRangeWithOffsetsRelativeToItsBase() {
        IoBus bus = new IoBus();
        Recorder com1 = new Recorder();
        Recorder pm = new Recorder();
        bus.register(0x3f8, 8, "com1", com1);
        bus.register(0x600, 0x10, "pm", pm);
        assertThat(bus.read(0x3fd, 1)).isEqualTo(5 * 16 + 1);
        assertThat(bus.write(0x604, 2, 0x2000)).isTrue();
        assertThat(com1.log).containsExactly("r 5/1");
        assertThat(pm.log).containsExactly("w 4/2=2000");
    }

    @Test
    void unclaimedAddressesReadAllOnesAndDropWrites() {
        IoBus bus = new IoBus();
        bus.register(0x3f8, 8, "com1", new Recorder());
        assertThat(bus.read(0x3f7, 1)).isEqualTo(0xff);
        assertThat(bus.read(0x400, 2)).isEqualTo(0xffff);
        assertThat(bus.read(0x400, 4)).isEqualTo(0xffffffffL);
        assertThat(bus.read(0x400, 8)).isEqualTo(-1L);
        assertThat(bus.write(0x400, 1, 1)).isFalse();
        assertThat(bus.write(0x3f0, 1, 1)).isFalse();
    }

    @Test
    void overlappingRangesAreRefusedNamingBoth() {
        MmioBus bus = new MmioBus();
        bus.register(0x1000, 0x100, "a", new Recorder());
        assertThatThrownBy(() -> bus.register(0x10f0, 0x20, "b", new Recorder()))
                .hasMessageContaining("b at 0x10f0").hasMessageContaining("overlaps a at 0x1000");
        assertThatThrownBy(() -> bus.register(0xf00, 0x101, "c", new Recorder())).hasMessageContaining("overlaps a");
        bus.register(0x1100, 0x10, "adjacent", new Recorder());
        bus.register(0xf00, 0x100, "below", new Recorder());
    }

    @Test
    void rangesCanMoveAtRunTime() {
        MmioBus bus = new MmioBus();
        Recorder bar = new Recorder();
        bus.register(0xfebf0000L, 0x1000, "bar0", bar);
        assertThat(bus.unregister(0xfebf0000L)).isTrue();
        assertThat(bus.write(0xfebf0000L, 4, 1)).isFalse();
        bus.register(0xfe000000L, 0x1000, "bar0", bar);
        assertThat(bus.write(0xfe000010L, 4, 7)).isTrue();
        assertThat(bar.log).containsExactly("w 16/4=7");
    }
}
