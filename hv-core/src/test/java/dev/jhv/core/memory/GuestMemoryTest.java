package dev.jhv.core.memory;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GuestMemoryTest {
    private static GuestMemory pcLike(Arena a) {
        // 1 MiB below the hole and 1 MiB at 4 GiB, as a PC with RAM above the PCI hole.
        return new GuestMemory(List.of(
                new GuestMemory.Region(0x1_0000_0000L, a.allocate(1 << 20)),
                new GuestMemory.Region(0, a.allocate(1 << 20))));
    }

    @Test
    void readsAndWritesLittleEndianAcrossRegions() {
        try (Arena a = Arena.ofConfined()) {
            GuestMemory m = pcLike(a);
            m.writeLong(0x1000, 0x1122334455667788L);
            assertThat(m.readByte(0x1000)).isEqualTo(0x88);
            assertThat(m.readInt(0x1004)).isEqualTo(0x11223344);
            m.writeShort(0x1_0000_0010L, 0xbeef);
            assertThat(m.readShort(0x1_0000_0010L)).isEqualTo(0xbeef);
            assertThat(m.totalSize()).isEqualTo(2 << 20);
            assertThat(m.regions().getFirst().gpa()).isZero();
        }
    }

    @Test
    void accessesOutsideRamOrAcrossARegionEndAreRefused() {
        try (Arena a = Arena.ofConfined()) {
            GuestMemory m = pcLike(a);
            assertThatThrownBy(() -> m.readLong((1 << 20) - 4)).isInstanceOf(GuestMemoryException.class)
                    .hasMessageContaining("0xffffc+0x8");
            assertThatThrownBy(() -> m.slice(0x8000_0000L, 1)).isInstanceOf(GuestMemoryException.class);
            assertThatThrownBy(() -> m.slice(-1, 2)).isInstanceOf(GuestMemoryException.class);
            assertThatThrownBy(() -> m.slice(0, -1)).isInstanceOf(GuestMemoryException.class);
            assertThatThrownBy(() -> m.slice(0x10, Long.MAX_VALUE)).isInstanceOf(GuestMemoryException.class);
            assertThat(m.isRam(0, 1 << 20)).isTrue();
            assertThat(m.isRam(0, (1 << 20) + 1)).isFalse();
        }
    }

    @Test
    void overlappingRegionsAreRefused() {
        try (Arena a = Arena.ofConfined()) {
            assertThatThrownBy(() -> new GuestMemory(List.of(
                    new GuestMemory.Region(0, a.allocate(0x2000)), new GuestMemory.Region(0x1000, a.allocate(0x1000)))))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void ramFromMmapCostsNothingUntilTouched() {
        var seg = RamAllocator.map(2L << 30);
        try {
            assertThat(seg.byteSize()).isEqualTo(2L << 30);
            seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, (2L << 30) - 1, (byte) 1);
            assertThat(seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)).isZero();
        } finally {
            RamAllocator.unmap(seg);
        }
    }
}
