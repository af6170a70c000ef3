package dev.jhv.qcow2;

import dev.jhv.qcow2.cluster.L2Entry;
import dev.jhv.qcow2.snapshot.Snapshot;
import dev.jhv.qcow2.snapshot.SnapshotTable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Recomputes every cluster's refcount from the metadata (header, L1/L2 tables of the active state
 * and of every snapshot, refcount structures, snapshot table) and compares with the stored ones, as
 * qemu-img check does. Memory is bounded by the file's size in clusters.
 */
public final class ImageChecker {
    public enum Repair { NONE, LEAKS, ALL }

    private static final long MAX_CLUSTERS = 64L << 20;
    private final Qcow2Image img;
    private final int cb;
    private int[] expected;
    private long nClusters;
    private int corruptions;
    private final List<String> messages = new ArrayList<>();
    private long allocated, fragmented, compressed;

    ImageChecker(Qcow2Image img) {
        this.img = img;
        this.cb = img.clusterBits;
    }

    private void error(String msg) {
        corruptions++;
        if (messages.size() < 1000) messages.add("ERROR " + msg);
    }

    private void ref(long offset, long length, String what) {
        if (length <= 0) return;
        long first = offset >> cb, last = (offset + length - 1) >> cb;
        for (long c = first; c <= last; c++) {
            if (c < 0 || c >= nClusters) {
                error(what + " at offset " + (c << cb) + " lies past the end of the image");
                return;
            }
            expected[(int) c]++;
        }
    }

    CheckResult check(Repair repair) throws IOException {
        long fileLen = img.file.length();
        nClusters = (fileLen + img.clusterSize - 1) >> cb;
        if (nClusters > MAX_CLUSTERS) throw new Qcow2Exception(img.file.name() + ": image too large to check");
        expected = new int[(int) nClusters];
        var refs = img.refs;
        ref(0, img.clusterSize, "header");
        ref(img.l1Offset, 8L * img.l1.length, "L1 table");
        walk(img.l1, true);
        ref(refs.tableOffset(), (long) refs.tableClusters() << cb, "refcount table");
        for (long b : refs.table()) if (b != 0) ref(b, img.clusterSize, "refcount block");
        if (!img.snapshots.isEmpty()) {
            ref(img.header.snapshotsOffset, SnapshotTable.encode(img.snapshots).length, "snapshot table");
            for (Snapshot s : img.snapshots) {
                ref(s.l1Offset(), 8L * s.l1Size(), "snapshot L1 table");
                try {
                    walk(img.readL1(s.l1Offset(), s.l1Size(), "snapshot L1 table"), false);
                } catch (Qcow2Exception e) {
                    error(e.getMessage());
                }
            }
        }
        int leaks = 0, leaksFixed = 0, fixed = 0;
        long epb = refs.entriesPerBlock();
        long[] table = refs.table();
        // Every cluster a refcount block covers, plus every cluster of the file.
        long end = 0;
        long scanEnd = Math.max(nClusters, 0);
        for (int bi = 0; bi < table.length; bi++) if (table[bi] != 0) scanEnd = Math.max(scanEnd, (bi + 1) * epb);
        for (long c = 0; c < scanEnd; c++) {
            if (c >= nClusters && !refs.hasBlock(c)) {
                c = (c / epb + 1) * epb - 1;
                continue;
            }
            long stored = refs.get(c);
            long exp = c < nClusters ? expected[(int) c] : 0;
            if (stored != 0) end = c + 1;
            if (stored > exp) {
                leaks++;
                if (messages.size() < 1000) messages.add("Leaked cluster " + c + " refcount=" + stored + " reference=" + exp);
                if (repair != Repair.NONE) {
                    refs.set(c, exp);
                    leaksFixed++;
                }
            } else if (stored < exp) {
                error("cluster " + c + " refcount=" + stored + " reference=" + exp);
                if (repair == Repair.ALL && refs.hasBlock(c) && exp <= refs.maxRefcount()) {
                    refs.set(c, exp);
                    fixed++;
                }
            }
        }
        fixed += checkCopied(repair == Repair.ALL);
        long total = (img.size + img.clusterSize - 1) >> cb;
        return new CheckResult(corruptions - fixed, leaks - leaksFixed, fixed, leaksFixed, end << cb, total,
                allocated, fragmented, compressed, List.copyOf(messages));
    }

    private void walk(long[] l1t, boolean active) throws IOException {
        long prevHost = -1;
        for (int i = 0; i < l1t.length; i++) {
            long off = l1t[i] & L2Entry.OFFSET_MASK;
            if (off == 0) continue;
            if ((off & (img.clusterSize - 1)) != 0) {
                error("L1 entry " + i + " points to unaligned offset " + off);
                continue;
            }
            ref(off, img.clusterSize, "L2 table");
            long[] t;
            try {
                t = img.l2Table(off);
            } catch (Qcow2Exception e) {
                error(e.getMessage());
                continue;
            }
            for (long e : t) {
                switch (L2Entry.type(e, img.v3)) {
                    case NORMAL, ZERO_ALLOC -> {
                        long host = L2Entry.offset(e);
                        if ((host & (img.clusterSize - 1)) != 0) {
                            error("data cluster at unaligned offset " + host);
                            continue;
                        }
                        ref(host, img.clusterSize, "data cluster");
                        if (active && L2Entry.type(e, img.v3) == L2Entry.Type.NORMAL) {
                            allocated++;
                            if (prevHost >= 0 && host != prevHost + img.clusterSize) fragmented++;
                            prevHost = host;
                        }
                    }
                    case COMPRESSED -> {
                        ref(L2Entry.compressedOffset(e, cb), L2Entry.compressedSize(e, cb), "compressed cluster");
                        if (active) {
                            allocated++;
                            compressed++;
                        }
                    }
                    default -> { }
                }
            }
        }
    }

    /** COPIED must be set exactly where the refcount is 1 (active L1 and its L2 tables). */
    private int checkCopied(boolean fix) throws IOException {
        int fixed = 0;
        var refs = img.refs;
        for (int i = 0; i < img.l1.length; i++) {
            long l1e = img.l1[i];
            long off = l1e & L2Entry.OFFSET_MASK;
            if (off == 0 || (off & (img.clusterSize - 1)) != 0) continue;
            boolean one = refs.get(off >> cb) == 1;
            if (one != ((l1e & L2Entry.COPIED) != 0)) {
                error("OFLAG_COPIED L2 cluster: l1_index=" + i + " l1_entry=" + Long.toHexString(l1e)
                        + " refcount=" + refs.get(off >> cb));
                if (fix) {
                    img.setL1(i, one ? l1e | L2Entry.COPIED : l1e & ~L2Entry.COPIED);
                    fixed++;
                }
            }
            long[] t;
            try {
                t = img.l2Table(off);
            } catch (Qcow2Exception e) {
                continue;
            }
            boolean changed = false;
            for (int j = 0; j < t.length; j++) {
                long e = t[j];
                var type = L2Entry.type(e, img.v3);
                if (type != L2Entry.Type.NORMAL && type != L2Entry.Type.ZERO_ALLOC) continue;
                long host = L2Entry.offset(e);
                if ((host & (img.clusterSize - 1)) != 0) continue;
                boolean single = refs.get(host >> cb) == 1;
                if (single != ((e & L2Entry.COPIED) != 0)) {
                    error("OFLAG_COPIED data cluster: l2_entry=" + Long.toHexString(e) + " refcount=" + refs.get(host >> cb));
                    if (fix && one) {
                        t[j] = single ? e | L2Entry.COPIED : e & ~L2Entry.COPIED;
                        changed = true;
                        fixed++;
                    }
                }
            }
            if (changed) img.file.write(off, Qcow2Image.encode(t));
        }
        return fixed;
    }
}
