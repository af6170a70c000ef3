package dev.jhv.migration.postcopy;

import dev.jhv.migration.control.MigrationParameters;

/**
 * jhv's own switch to postcopy (x-postcopy-auto on, with postcopy-ram): once a full pass has been measured, a guest
 * that dirtied memory at least as fast as the link carried it will not converge, so waiting for more passes only
 * sends the same pages again.
 */
public final class PostcopyPolicy {
    private PostcopyPolicy() { }

    /**
     * @param syncs       dirty syncs so far (QEMU's count: 2 after the first pass)
     * @param dirtiedPages pages the last pass saw written
     * @param passNanos   how long that pass took
     * @param bandwidth   bytes per second the link carried in it
     */
    public static boolean switchNow(MigrationParameters p, boolean postcopyRam, long syncs, long dirtiedPages,
                                    long passNanos, long bandwidth) {
        if (!postcopyRam || !p.postcopyAuto() || syncs < 2 || passNanos <= 0 || bandwidth <= 0) {
            return false;
        }
        double dirtyBytesPerSecond = dirtiedPages * 4096.0 * 1e9 / passNanos;
        return dirtyBytesPerSecond >= bandwidth;
    }
}
