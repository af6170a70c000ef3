package dev.jhv.core.memory;

import dev.jhv.core.sys.Libc;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class PageResidencyTest {
    private static final int MADV_NOHUGEPAGE = 15;

    private static final int PAGE = PageResidency.PAGE_SIZE;

    @Test
    void pagesNeverWrittenAreKnownZeroAndWrittenOnesAreNot() {
        assumeFalse(PageResidency.swapInUse(), "pages may be swapped out: residency says nothing");
        // two windows' worth plus a partial one, so window boundaries are crossed
        long pages = 2L * PageResidency.WINDOW_PAGES + 5;
        MemorySegment ram = RamAllocator.map(pages * PAGE);
        // small pages, so that a write makes one page resident and not the 2 MiB around it (mincore's answer is
        // per page either way; with huge pages the neighbours of a written page are scanned instead of skipped)
        Libc.tryMadvise(ram, MADV_NOHUGEPAGE);
        try {
            long[] touched = {0, 1, PageResidency.WINDOW_PAGES - 1, PageResidency.WINDOW_PAGES, pages - 1};
            for (long p : touched) {
                ram.set(ValueLayout.JAVA_BYTE, p * PAGE + 7, (byte) 1);
            }
            PageResidency r = new PageResidency(ram);
            for (long p : touched) {
                assertThat(r.knownZero(p * PAGE)).as("page %d", p).isFalse();
            }
            assertThat(r.knownZero(2L * PAGE)).isTrue();
            assertThat(r.knownZero((PageResidency.WINDOW_PAGES + 1L) * PAGE)).isTrue();
            assertThat(r.knownZero((pages - 2) * PAGE)).isTrue();
            // reading a page maps one (the zero page, for private memory), so afterwards it is no longer known zero
            assertThat(ram.get(ValueLayout.JAVA_BYTE, 3L * PAGE)).isZero();
            r.invalidate();
            assertThat(r.knownZero(3L * PAGE)).isFalse();
        } finally {
            RamAllocator.unmap(ram);
        }
    }

    @Test
    void aWriteReportedByTheCallerUpdatesTheCachedWindow() {
        assumeFalse(PageResidency.swapInUse());
        MemorySegment ram = RamAllocator.map(64L * PAGE);
        try {
            PageResidency r = new PageResidency(ram);
            assertThat(r.knownZero(9L * PAGE)).isTrue();
            ram.set(ValueLayout.JAVA_BYTE, 9L * PAGE, (byte) 5);
            r.written(9L * PAGE);
            assertThat(r.knownZero(9L * PAGE)).isFalse();
        } finally {
            RamAllocator.unmap(ram);
        }
    }

    @Test
    void memoryThatIsNotAPageAlignedMappingIsNeverKnownZero() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment heap = MemorySegment.ofArray(new byte[4 * PAGE]);
            assertThat(new PageResidency(heap).knownZero(0)).isFalse();
            MemorySegment unaligned = a.allocate(4L * PAGE + 8, 8).asSlice(8);
            assertThat(new PageResidency(unaligned).knownZero(PAGE)).isFalse();
        }
    }
}
