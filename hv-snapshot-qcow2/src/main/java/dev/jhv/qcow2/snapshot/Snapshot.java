package dev.jhv.qcow2.snapshot;

/**
 * One internal snapshot as stored in the snapshot table.
 *
 * @param l1Offset host offset of the snapshot's copy of the L1 table
 * @param l1Size entries in that copy
 * @param vmStateSize bytes of saved machine state (0 for a disk-only snapshot)
 * @param diskSize virtual disk size when the snapshot was taken
 * @param extra any extra data bytes beyond the ones we know, kept as they were
 */
public record Snapshot(long l1Offset, int l1Size, String id, String name, long dateSec, long dateNsec,
        long vmClockNs, long vmStateSize, long diskSize, long icount, byte[] extra) {}
