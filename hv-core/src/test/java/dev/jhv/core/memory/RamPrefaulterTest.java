package dev.jhv.core.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.jhv.core.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

class RamPrefaulterTest {
    private static final int PAGE = PageResidency.PAGE_SIZE;
    private static final long CHUNK = RamPrefaulter.CHUNK;
    private static final long PAGES_PER_CHUNK = CHUNK / PAGE;

    /**
     * Small pages, so that residency shows what the prefaulter asked for: with transparent huge pages the kernel
     * backs the whole 2 MiB chunk at its first write by itself.
     */
    private static void noHugePages(MemorySegment ram) {
        Libc.tryMadvise(ram, 15); // MADV_NOHUGEPAGE
    }

    @Test
    void aFullChunkBacksTheNextChunksAndNoMore() {
        assumeFalse(PageResidency.swapInUse(), "resident pages may be swapped out");
        long chunks = RamPrefaulter.AHEAD + 4;
        MemorySegment ram = RamAllocator.map(chunks * CHUNK);
        noHugePages(ram);
        try {
            var prefaulter = new RamPrefaulter(ram, "test");
            writeChunk(ram, prefaulter, 0);
            for (long c = 1; c <= RamPrefaulter.AHEAD; c++) {
                awaitResident(ram, c, PAGES_PER_CHUNK);
            }
            for (long c = RamPrefaulter.AHEAD + 1; c < chunks; c++) {
                assertThat(resident(ram, c)).as("chunk %d is beyond the look-ahead", c).isZero();
            }
            assertThat(ram.get(ValueLayout.JAVA_BYTE, CHUNK + 123)).as("backed pages read as zero").isZero();
            assertThat(ram.get(ValueLayout.JAVA_BYTE, 77)).as("what the writer wrote stays").isEqualTo((byte) 1);
        } finally {
            RamAllocator.unmap(ram);
        }
    }

    @Test
    void aSparseWriterGetsNothingAhead() {
        assumeFalse(PageResidency.swapInUse(), "resident pages may be swapped out");
        long chunks = 8;
        MemorySegment ram = RamAllocator.map(chunks * CHUNK);
        noHugePages(ram);
        try {
            var prefaulter = new RamPrefaulter(ram, "test");
            for (long c = 0; c < 4; c++) {
                for (long p = 0; p < PAGES_PER_CHUNK; p += 2) {   // every other page: never a full chunk
                    long at = c * CHUNK + p * PAGE;
                    ram.set(ValueLayout.JAVA_BYTE, at, (byte) 1);
                    prefaulter.written(at);
                }
            }
            // a later full chunk makes the prefaulter work; once it has, nothing earlier was asked for
            writeChunk(ram, prefaulter, 4);
            awaitResident(ram, 7, PAGES_PER_CHUNK);
            for (long c = 0; c < 4; c++) {
                assertThat(resident(ram, c)).as("chunk %d", c).isEqualTo(PAGES_PER_CHUNK / 2);
            }
        } finally {
            RamAllocator.unmap(ram);
        }
    }

    private static void writeChunk(MemorySegment ram, RamPrefaulter prefaulter, long chunk) {
        for (long p = 0; p < PAGES_PER_CHUNK; p++) {
            long at = chunk * CHUNK + p * PAGE;
            ram.set(ValueLayout.JAVA_BYTE, at + 77, (byte) 1);
            prefaulter.written(at);
        }
    }

    private static long resident(MemorySegment ram, long chunk) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment vec = a.allocate(PAGES_PER_CHUNK);
            Libc.mincore(ram.asSlice(chunk * CHUNK, CHUNK), vec);
            long n = 0;
            for (long i = 0; i < PAGES_PER_CHUNK; i++) {
                n += vec.get(ValueLayout.JAVA_BYTE, i) & 1;
            }
            return n;
        }
    }

    private static void awaitResident(MemorySegment ram, long chunk, long pages) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (resident(ram, chunk) < pages) {
            assertThat(System.nanoTime()).as("chunk %d backed in time", chunk).isLessThan(deadline);
            LockSupport.parkNanos(1_000_000);
        }
    }
}
