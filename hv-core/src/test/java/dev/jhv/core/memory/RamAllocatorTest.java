package dev.jhv.core.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class RamAllocatorTest {
    /** The VmFlags line of the mapping that starts at {@code address}, from /proc/self/smaps. */
    static String vmFlags(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        String start = Long.toHexString(address) + "-";
        boolean in = false;
        for (String l : lines) {
            if (l.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                in = l.startsWith(start);
            } else if (in && l.startsWith("VmFlags:")) {
                return l;
            }
        }
        throw new AssertionError("no mapping at 0x" + Long.toHexString(address));
    }

    @Test
    void ramIsPrivateReservesNothingAndAsksForHugePages() throws IOException {
        assumeTrue(Files.exists(Path.of("/sys/kernel/mm/transparent_hugepage")), "kernel without THP");
        MemorySegment ram = RamAllocator.map(8L << 20);
        try {
            String flags = vmFlags(ram.address());
            assertThat(flags).doesNotContain(" sh ").contains(" nr ").contains(" hg");
            // nothing is resident until touched
            ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 4096, (byte) 1);
            assertThat(ram.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 4096)).isEqualTo((byte) 1);
        } finally {
            RamAllocator.unmap(ram);
        }
    }
}
