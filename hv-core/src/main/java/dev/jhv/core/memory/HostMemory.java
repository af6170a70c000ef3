package dev.jhv.core.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the host can give guest RAM, read from /proc: checked before RAM is mapped, because the mapping itself
 * (MAP_NORESERVE) succeeds for any size and a guest bigger than the host would only fail when it touches its
 * memory. The rule is the kernel's own heuristic for one allocation (overcommit_memory 0), which is what refuses
 * QEMU: no more than physical memory plus swap.
 */
public final class HostMemory {
    private HostMemory() { }

    /** Physical memory plus swap in bytes, or -1 if /proc/meminfo cannot be read. */
    public static long physicalAndSwap() {
        long[] kib = kibFields(MEMINFO, "MemTotal:", "SwapTotal:");
        return kib[0] < 0 || kib[1] < 0 ? -1 : (kib[0] + kib[1]) * 1024;
    }

    static final Path MEMINFO = Path.of("/proc/meminfo");

    /**
     * The values of "Name:   N kB" lines of a /proc file, in KiB, read in one pass; -1 for a name whose line is
     * missing or unreadable.
     */
    static long[] kibFields(Path file, String... names) {
        long[] out = new long[names.length];
        java.util.Arrays.fill(out, -1);
        try {
            for (String line : Files.readAllLines(file)) {
                for (int i = 0; i < names.length; i++) {
                    if (line.startsWith(names[i])) {
                        out[i] = Long.parseLong(line.substring(names[i].length()).strip().split("\\s+")[0]);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            java.util.Arrays.fill(out, -1); // unknown
        }
        return out;
    }

    /** The process's address-space limit (ulimit -v) in bytes, or -1 when unlimited or unknown. */
    public static long addressSpaceLimit() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max address space")) {
                    String soft = line.substring("Max address space".length()).strip().split("\\s+")[0];
                    return soft.equals("unlimited") ? -1 : Long.parseLong(soft);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // unknown: say nothing about it
        }
        return -1;
    }

    /** The process's mapped address space now (VmSize), or -1. */
    public static long addressSpaceUsed() {
        long kib = kibFields(Path.of("/proc/self/status"), "VmSize:")[0];
        return kib < 0 ? -1 : kib * 1024;
    }

    /**
     * Refuses a guest of {@code bytes} of RAM the host cannot hold, with QEMU's words and what jhv saw.
     *
     * @throws GuestMemoryException naming the block, the sizes and the limit that refused it
     */
    public static void checkGuestRam(String block, long bytes) {
        long host = physicalAndSwap();
        if (host > 0 && bytes > host) {
            throw new GuestMemoryException("cannot set up guest memory '" + block + "': Cannot allocate memory"
                    + " (" + (bytes >> 20) + " MiB asked for; the host has " + (host >> 20)
                    + " MiB of memory and swap)");
        }
        long limit = addressSpaceLimit();
        if (limit > 0) { // the process's own size matters only under a limit: read it only then (start-up path)
            long used = addressSpaceUsed();
            if (used > 0 && used + bytes > limit) {
                throw new GuestMemoryException(ulimitMessage(block, bytes, limit, used));
            }
        }
    }

    /** Why a mapping failed under ulimit -v, with the figures a user needs to raise it. */
    static String ulimitMessage(String block, long bytes, long limit, long used) {
        return "cannot set up guest memory '" + block + "': Cannot allocate memory (the address-space limit, "
                + "ulimit -v, is " + (limit >> 20) + " MiB; jhv uses " + (used >> 20) + " MiB and the guest's RAM needs "
                + (bytes >> 20) + " MiB more: raise it to at least " + ((used + bytes) >> 20) + " MiB)";
    }

    /** The message for a failed RAM mapping: the ulimit's figures when one is set. */
    public static String mapFailure(String block, long bytes, String why) {
        long limit = addressSpaceLimit();
        long used = limit > 0 ? addressSpaceUsed() : -1;
        if (used > 0) {
            return ulimitMessage(block, bytes, limit, used);
        }
        return "cannot set up guest memory '" + block + "': " + why;
    }
}
