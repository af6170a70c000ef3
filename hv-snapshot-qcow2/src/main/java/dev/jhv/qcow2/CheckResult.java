package dev.jhv.qcow2;

import java.util.List;

/** Outcome of a consistency check, with qemu-img check's figures. */
public record CheckResult(int corruptions, int leaks, int corruptionsFixed, int leaksFixed, long imageEndOffset,
        long totalClusters, long allocatedClusters, long fragmentedClusters, long compressedClusters,
        List<String> messages) {
    public boolean clean() {
        return corruptions == 0 && leaks == 0;
    }
}
