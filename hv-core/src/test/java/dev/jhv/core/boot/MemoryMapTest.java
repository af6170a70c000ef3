package dev.jhv.core.boot;

import org.junit.jupiter.api.Test;

import static dev.jhv.core.boot.MemoryMap.E820Type.RAM;
import static dev.jhv.core.boot.MemoryMap.E820Type.RESERVED;
import static dev.jhv.core.boot.MemoryMap.GIB;
import static dev.jhv.core.boot.MemoryMap.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MemoryMapTest {
    @Test
    void smallGuestHasOneRangeAndPcE820() {
        var map = new MemoryMap(256 * MIB);
        assertThat(map.ramRanges()).containsExactly(new MemoryMap.RamRange(0, 256 * MIB));
        assertThat(map.lowMemoryEnd()).isEqualTo(256 * MIB);
        assertThat(map.highMemorySize()).isZero();
        assertThat(map.e820()).containsExactly(
                new MemoryMap.E820Entry(0, 0x9FC00, RAM),
                new MemoryMap.E820Entry(0x9FC00, 0x400, RESERVED),
                new MemoryMap.E820Entry(0xE0000, 0x20000, RESERVED),
                new MemoryMap.E820Entry(0x100000, 256 * MIB - 0x100000, RAM));
    }

    @Test
    void ramAboveThreeGibContinuesAtFourGib() {
        var map = new MemoryMap(4 * GIB);
        assertThat(map.ramRanges()).containsExactly(
                new MemoryMap.RamRange(0, 3 * GIB), new MemoryMap.RamRange(4 * GIB, GIB));
        assertThat(map.e820()).hasSize(5);
        assertThat(map.e820().get(3)).isEqualTo(new MemoryMap.E820Entry(0x100000, 3 * GIB - 0x100000, RAM));
        assertThat(map.e820().get(4)).isEqualTo(new MemoryMap.E820Entry(4 * GIB, GIB, RAM));
        long ram = map.e820().stream().filter(e -> e.type() == RAM).mapToLong(MemoryMap.E820Entry::size).sum();
        // All RAM but the EBDA and the BIOS area is usable.
        assertThat(ram).isEqualTo(4 * GIB - 0x400 - (0x100000 - 0xA0000));
    }

    @Test
    void exactlyThreeGibHasNoHighRange() {
        var map = new MemoryMap(3 * GIB);
        assertThat(map.ramRanges()).hasSize(1);
        assertThat(map.e820()).hasSize(4);
    }

    @Test
    void tooLittleRamIsRefused() {
        assertThatThrownBy(() -> new MemoryMap(MIB)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("minimum");
    }
}
