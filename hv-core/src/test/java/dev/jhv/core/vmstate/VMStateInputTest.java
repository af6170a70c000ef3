package dev.jhv.core.vmstate;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VMStateInputTest {
    /** Hands out at most 3 bytes per read, so every value straddles refills of the read-ahead buffer. */
    private static InputStream trickle(byte[] data) {
        return new ByteArrayInputStream(data) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 3));
            }
        };
    }

    private static int crc(byte[] data, int from, int to) {
        CRC32C c = new CRC32C();
        c.update(data, from, to - from);
        return (int) c.getValue();
    }

    @Test
    void captureHoldsExactlyTheBytesConsumedAcrossRefills() {
        byte[] data = new byte[150_000];
        new Random(9).nextBytes(data);
        for (InputStream is : new InputStream[] {trickle(data), new ByteArrayInputStream(data)}) {
            VMStateInput in = new VMStateInput(is);
            in.u16("a");
            in.startCapture();
            in.u32("b");
            in.bytes("c", 70_000); // more than the read-ahead buffer
            in.u8("d");
            assertThat(in.endCapture()).isEqualTo(java.util.Arrays.copyOfRange(data, 2, 70_007));
            in.u8("e");
            assertThat(in.offset()).isEqualTo(70_008);
            assertThatThrownBy(in::endCapture).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void checksumCoversExactlyTheBytesConsumedSinceItsResetAcrossRefills() {
        byte[] data = new byte[200_000];
        new Random(7).nextBytes(data);
        for (InputStream is : new InputStream[] {trickle(data), new ByteArrayInputStream(data)}) {
            VMStateInput in = new VMStateInput(is);
            in.u32("a");
            in.resetChecksum();
            in.u64("b");
            in.bytes("c", 100_000);
            assertThat(in.checksum()).isEqualTo(crc(data, 4, 100_012));
            in.resetChecksum();
            in.u16("d");
            assertThat(in.checksum()).isEqualTo(crc(data, 100_012, 100_014));
            assertThat(in.offset()).isEqualTo(100_014);
        }
    }

    @Test
    void readsBigEndianValuesAndIntoMemorySegments() {
        byte[] data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        VMStateInput in = new VMStateInput(trickle(data));
        assertThat(in.u64("x")).isEqualTo(0x0102030405060708L);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(8);
            in.readFully("y", seg, 2, 4);
            assertThat(seg.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).containsExactly(0, 0, 9, 10, 11, 12, 0, 0);
        }
        assertThatThrownBy(() -> in.u8("z")).isInstanceOf(VMStateException.class)
                .hasMessageContaining("z").hasMessageContaining("12");
    }
}
