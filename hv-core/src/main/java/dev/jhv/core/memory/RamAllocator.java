package dev.jhv.core.memory;

import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;

import java.lang.foreign.MemorySegment;

/**
 * Guest RAM from anonymous shared mappings: MAP_NORESERVE so that a large guest costs no resident memory
 * until it touches its pages. (Arena allocation would zero-fill and commit everything.)
 */
public final class RamAllocator {
    private RamAllocator() { }

    public static MemorySegment map(long bytes) {
        try {
            return Libc.mmap(bytes, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_SHARED | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        } catch (SysCallException e) {
            throw new GuestMemoryException("cannot map " + (bytes >> 20) + " MiB of guest RAM: " + e.getMessage());
        }
    }

    public static void unmap(MemorySegment ram) {
        Libc.munmap(ram);
    }
}
