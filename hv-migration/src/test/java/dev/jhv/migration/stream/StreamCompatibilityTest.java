package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class StreamCompatibilityTest {

    @Test
    void goldenVersion1LoadsIntoCurrentCode() {
        var dst = Fixture.destination();
        var r = dst.load(Golden.read(Golden.V1));
        assertThat(r.deviceSections()).isEqualTo(2);
        assertThat(dst.dev0.reg).isEqualTo(0xa0);
        assertThat(dst.dev0.counter).isEqualTo(0x1234_5678);
        assertThat(dst.dev1.id).containsExactly('J', 'H', 'V', '1');
        // version 1 had no 'extra': the destination keeps its value, and post-load ran
        assertThat(dst.dev0.extra).isEqualTo(7);
        assertThat(dst.dev1.extra).isEqualTo(8);
        assertThat(dst.dev0.postLoads).isEqualTo(1);
        assertRam(dst);
    }

    @Test
    void goldenVersion2LoadsIntoCurrentCode() {
        var dst = Fixture.destination();
        dst.load(Golden.read(Golden.V2));
        assertThat(dst.dev0.extra).isEqualTo(0x0bad);
        assertThat(dst.dev1.extra).isEqualTo(0x0bae);
        assertThat(dst.dev1.counter).isEqualTo(0x1234_5679);
        assertRam(dst);
    }

    @Test
    void currentCodeWritesTheCurrentGoldenStreamByteForByte() {
        assertThat(Golden.generate(Golden.CURRENT)).isEqualTo(Golden.read(Golden.CURRENT));
    }

    @Test
    void currentGoldenLoads() {
        var dst = Fixture.destination();
        dst.load(Golden.read(Golden.CURRENT));
        assertThat(dst.dev1.extra).isEqualTo(0x0bae);
        assertRam(dst);
        // 8 pages: zero runs [0], [2..4], [6..7] and normal pages 1 and 5, sent 3 pages per PART
        assertThat(dst.ramEntry.loadStats().zeroPages()).isEqualTo(6);
        assertThat(dst.ramEntry.loadStats().normalPages()).isEqualTo(2);
    }

    @Test
    void streamFromNewerVersionIsRefusedClearly() {
        byte[] v3 = Fixture.source(TestDevice.V3).save();
        var dst = Fixture.destination();
        byte[] before = dst.deviceState();
        var e = catchThrowableOfType(MigrationException.class, () -> dst.load(v3));
        assertThat(e.getMessage()).contains("load of 'testdev' instance 0", "newer", "stream version 3",
                "this build reads 1..2", "stream offset");
        assertThat(e.getCause()).isInstanceOf(VMStateException.class);
        assertThat(dst.deviceState()).isEqualTo(before);
    }

    static void assertRam(Fixture dst) {
        for (int p = 0; p < Fixture.PAGES; p++) {
            for (int i = 0; i < 4096; i += 511) {
                byte expected = switch (p) {
                    case 1 -> (byte) i;
                    case 5 -> (byte) (255 - i);
                    default -> 0;
                };
                assertThat(dst.ram.get(ValueLayout.JAVA_BYTE, p * 4096L + i)).as("page %d byte %d", p, i)
                        .isEqualTo(expected);
            }
        }
    }
}
