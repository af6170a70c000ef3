package dev.jhv.core.memory;

import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;

import java.lang.foreign.MemorySegment;

/**
 * Guest RAM from anonymous shared mappings: MAP_NORESERVE so that a large guest costs no resident memory
 * until it touches its pages. (Arena allocation would zero-fill and commit everything.) The mapping asks for
 * transparent huge pages, as QEMU does for guest RAM: where the host allows them for shared memory
 * (/sys/kernel/mm/transparent_hugepage/shmem_enabled "advise" or "within_size") a fault then allocates 2 MiB at once,
 * which makes filling RAM (an incoming migration, a boot) much cheaper; elsewhere the advice changes nothing.
 */
public final class RamAllocator {
    private RamAllocator() { }

    public static MemorySegment map(long bytes) {
        MemorySegment ram;
        try {
            ram = Libc.mmap(bytes, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_SHARED | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        } catch (SysCallException e) {
            String why = e.errno() == dev.jhv.core.sys.Errno.ENOMEM ? "Cannot allocate memory" : e.getMessage();
            throw new GuestMemoryException(HostMemory.mapFailure("pc.ram", bytes, why));
        }
        // a kernel built without THP refuses the advice (EINVAL): the RAM works the same with small pages
        Libc.tryMadvise(ram, Libc.MADV_HUGEPAGE);
        return ram;
    }

    public static void unmap(MemorySegment ram) {
        Libc.munmap(ram);
    }
}
