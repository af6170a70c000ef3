package dev.jhv.qcow2;

import java.util.List;

/**
 * Outcome of a consistency check, with qemu-img check's figures; checkErrors counts what could not
 * be checked at all (an unreadable refcount block), which qemu-img reports with exit status 1.
 */
public record CheckResult(int corruptions, int leaks, int corruptionsFixed, int leaksFixed, int checkErrors,
        long imageEndOffset, long totalClusters, long allocatedClusters, long fragmentedClusters, long compressedClusters,
        List<String> messages) {
    public boolean clean() {
        return corruptions == 0 && leaks == 0 && checkErrors == 0;
    }
}
