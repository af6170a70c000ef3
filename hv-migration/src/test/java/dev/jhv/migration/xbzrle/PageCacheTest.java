package dev.jhv.migration.xbzrle;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;

class PageCacheTest {
    static final int PAGE = 4096;

    static MemorySegment page(int fill) {
        byte[] b = new byte[PAGE];
        java.util.Arrays.fill(b, (byte) fill);
        return MemorySegment.ofArray(b);
    }

    @Test
    void theSizeRoundsDownToAPowerOfTwoOfPages() {
        try (var c = new PageCache(5 * PAGE + 100)) {
            assertThat(c.slots()).isEqualTo(4);
        }
    }

    @Test
    void aPageInsertedIsCachedWithItsBytes() {
        try (var c = new PageCache(4 * PAGE)) {
            assertThat(c.cached(8 * PAGE, 1)).isFalse();
            assertThat(c.insert(8 * PAGE, page(5), 0, 1)).isTrue();
            assertThat(c.cached(8 * PAGE, 2)).isTrue();
            assertThat(c.page(8 * PAGE).get(ValueLayout.JAVA_BYTE, 100)).isEqualTo((byte) 5);
            c.forget(8 * PAGE);
            assertThat(c.cached(8 * PAGE, 2)).isFalse();
        }
    }

    @Test
    void aYoungEntryKeepsItsSlotUntilItIsTwoGenerationsOld() {
        try (var c = new PageCache(4 * PAGE)) {
            // pages 1 and 5 share a slot of four
            assertThat(c.insert(PAGE, page(1), 0, 3)).isTrue();
            assertThat(c.insert(5 * PAGE, page(2), 0, 4)).isFalse();
            assertThat(c.cached(PAGE, 4)).isTrue(); // a hit makes it current again
            assertThat(c.insert(5 * PAGE, page(2), 0, 5)).isFalse();
            assertThat(c.insert(5 * PAGE, page(2), 0, 6)).isTrue(); // aged out: evicted
            assertThat(c.cached(PAGE, 6)).isFalse();
            assertThat(c.cached(5 * PAGE, 6)).isTrue();
        }
    }

    @Test
    void theSenderEncodesOnlyPagesItSentBefore() {
        var ram = MemorySegment.ofArray(new byte[4 * PAGE]);
        var block = new dev.jhv.migration.stream.RamBlock("pc.ram", ram);
        var stats = new dev.jhv.migration.stream.RamStats();
        try (var s = new XbzrleSender(java.util.List.of(block), 64 * PAGE)) {
            byte[] out = new byte[PAGE];
            MemorySegment v1 = page(1);
            assertThat(s.encode(block, PAGE, v1, out)).isEqualTo(-1); // first pass: cached, sent whole
            s.synced(2, stats);
            assertThat(s.encode(block, PAGE, v1, out)).isZero(); // unchanged
            MemorySegment v2 = page(1);
            v2.set(ValueLayout.JAVA_BYTE, 10, (byte) 9);
            assertThat(s.encode(block, PAGE, v2, out)).isEqualTo(3); // 0a 01 09
            assertThat(s.encode(block, 2 * PAGE, v2, out)).isEqualTo(-1); // never sent: a miss
            assertThat(s.encode(block, 2 * PAGE, page(3), out)).isEqualTo(XbzrleCodec.OVERFLOW);
            var c = s.counters(stats);
            assertThat(c.cacheMiss()).isEqualTo(1);
            assertThat(c.overflow()).isEqualTo(1);
            s.zero(block, PAGE); // sent as a zero page: the cached version is stale
            assertThat(s.encode(block, PAGE, v2, out)).isEqualTo(-1);
        }
    }
}
