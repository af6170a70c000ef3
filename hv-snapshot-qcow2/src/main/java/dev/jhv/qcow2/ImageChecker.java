package dev.jhv.qcow2;

import dev.jhv.qcow2.cluster.L2Entry;
import dev.jhv.qcow2.format.Qcow2Header;
import dev.jhv.qcow2.snapshot.Snapshot;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Recomputes every cluster's refcount from the metadata (header, L1/L2 tables of the active state
 * and of every snapshot, refcount structures, snapshot table) and compares with the stored ones, as
 * qemu-img check does, and reports damaged entries on the way (reserved bits, misaligned or
 * out-of-file offsets). Tables are read as stored, not through the driver's checked paths, with
 * bytes past the end of the file reading as zeroes as they do for qemu, so that both tools count
 * the same corruptions. Memory is bounded by the file's size in clusters.
 */
public final class ImageChecker {
    public enum Repair { NONE, LEAKS, ALL }

    private static final long MAX_CLUSTERS = 64L << 20;
    private static final long REFT_RESERVED = 0x1ff;
    private final Qcow2Image img;
    private final int cb;
    private final int cs;
    private long fileLen;
    private int[] expected;
    private long nClusters;
    /** Clusters to compare: the file's, and the one past it that a reference may reach. */
    private long compareEnd;
    private int corruptions, checkErrors;
    private final List<String> messages = new ArrayList<>();
    private long allocated, fragmented, compressed;

    ImageChecker(Qcow2Image img) {
        this.img = img;
        this.cb = img.clusterBits;
        this.cs = img.clusterSize;
    }

    private void error(String msg) {
        corruptions++;
        if (messages.size() < 1000) messages.add("ERROR " + msg);
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** Counts one reference to each cluster of a region; a region reaching a cluster past the file is an error. */
    private void ref(long offset, long length, String what) {
        if (length <= 0) return;
        if (offset + length - fileLen >= cs || offset < 0) {
            error(what + " at offset " + hex(offset) + " (" + length + " bytes) lies past the end of the file");
            return;
        }
        long first = offset >> cb, last = (offset + length - 1) >> cb;
        for (long c = first; c <= last; c++) {
            if (expected[(int) c] != Integer.MAX_VALUE) expected[(int) c]++;
        }
        compareEnd = Math.max(compareEnd, last + 1);
    }

    private long[] readPadded(long offset, int entries) throws IOException {
        var b = ByteBuffer.allocate(entries * 8);
        img.file.readPadded(offset, b);
        long[] t = new long[entries];
        b.clear();
        for (int i = 0; i < entries; i++) t[i] = b.getLong();
        return t;
    }

    CheckResult check(Repair repair) throws IOException {
        fileLen = img.file.length();
        nClusters = (fileLen + cs - 1) >> cb;
        if (nClusters > MAX_CLUSTERS) throw new Qcow2Exception(img.file.name() + ": image too large to check");
        expected = new int[(int) nClusters + 1];
        compareEnd = nClusters;
        var refs = img.refs;
        ref(0, cs, "header");
        walkL1(img.l1Offset, img.l1.length, img.l1, "active L1 table", true);
        for (String p : img.snapshotProblems) error(p);
        for (Snapshot s : img.snapshots) {
            String at = "snapshot " + s.id() + " ('" + s.name() + "')";
            if ((s.l1Offset() & (cs - 1)) != 0) {
                error(at + " has its L1 table at offset " + hex(s.l1Offset()) + ", which is not cluster aligned");
            } else if (s.l1Size() < 0 || (long) s.l1Size() * 8 > Qcow2Header.MAX_L1_BYTES) {
                error(at + " has an L1 table of " + Integer.toUnsignedString(s.l1Size()) + " entries, more than qcow2 allows");
            } else if (s.l1Size() > 0) {
                walkL1(s.l1Offset(), s.l1Size(), null, "L1 table of " + at, false);
            }
        }
        if (!img.snapshots.isEmpty()) ref(img.header.snapshotsOffset, img.snapshotTableLength, "snapshot table");
        ref(refs.tableOffset(), (long) refs.tableClusters() << cb, "refcount table");
        checkRefcountTable();
        int leaks = 0, leaksFixed = 0, fixed = 0;
        long end = 0;
        for (long c = 0; c < compareEnd; c++) {
            long stored;
            try {
                stored = refs.get(c);
            } catch (Qcow2Exception e) {
                checkErrors++;
                if (messages.size() < 1000) messages.add("ERROR cannot read the refcount of cluster " + c + ": " + e.getMessage());
                continue;
            }
            long exp = expected[(int) c];
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
        long total = (img.size + cs - 1) >> cb;
        return new CheckResult(corruptions - fixed, leaks - leaksFixed, fixed, leaksFixed, checkErrors, end << cb, total,
                allocated, fragmented, compressed, List.copyOf(messages));
    }

    /** Each refcount table entry must be clean, aligned and inside the file, its block referenced once. */
    private void checkRefcountTable() {
        var refs = img.refs;
        for (int i = 0; i < refs.table().length; i++) {
            long raw = refs.rawEntry(i);
            long off = raw & ~REFT_RESERVED;
            String entry = "refcount table entry " + i + " (at offset " + hex(refs.tableOffset() + 8L * i) + ")";
            if ((raw & REFT_RESERVED) != 0) {
                error(entry + " has reserved bits set: " + hex(raw));
            } else if ((off & (cs - 1)) != 0) {
                error(entry + " points to refcount block offset " + hex(off) + ", which is not cluster aligned");
            } else if ((off >>> cb) >= nClusters) {
                error(entry + " points to refcount block offset " + hex(off) + ", past the end of the file");
            } else if (off != 0) {
                ref(off, cs, "refcount block " + i);
                int n = expected[(int) (off >> cb)];
                if (n != 1) error("refcount block " + i + " at offset " + hex(off) + " is referenced " + n + " times");
            }
        }
    }

    private void walkL1(long offset, int size, long[] known, String what, boolean active) throws IOException {
        if (size == 0) return;
        ref(offset, 8L * size, what);
        long[] l1t = known != null ? known : readPadded(offset, size);
        long prevHost = -1;
        for (int i = 0; i < l1t.length; i++) {
            long e = l1t[i];
            String entry = what + " entry " + i + " (at offset " + hex(offset + 8L * i) + ")";
            if ((e & Qcow2Image.L1_RESERVED) != 0) error(entry + " has reserved bits set: " + hex(e));
            // A non-zero entry names a table even when its offset is 0 (the header): qemu-img walks it, so do we.
            if (e == 0) continue;
            long off = e & L2Entry.OFFSET_MASK;
            ref(off, cs, "L2 table of " + entry);
            if ((off & (cs - 1)) != 0) {
                error(entry + " points to L2 table offset " + hex(off) + ", which is not cluster aligned");
                continue;
            }
            long[] t = readPadded(off, cs / 8);
            for (int j = 0; j < t.length; j++) {
                long x = t[j];
                String l2e = "L2 table at offset " + hex(off) + " entry " + j + " (at offset " + hex(off + 8L * j) + ")";
                if ((x & L2Entry.COMPRESSED) != 0) {
                    if ((x & L2Entry.COPIED) != 0) error(l2e + " is compressed and has the COPIED flag set: " + hex(x));
                    ref(L2Entry.compressedOffset(x, cb), L2Entry.compressedSize(x, cb), "compressed cluster of " + l2e);
                    if (active) {
                        allocated++;
                        compressed++;
                    }
                    continue;
                }
                if ((x & L2_RESERVED) != 0) error(l2e + " has reserved bits set: " + hex(x));
                long host = L2Entry.offset(x);
                if (host == 0) continue;
                // Counted even when misaligned, as qemu-img does, so both find the same refcount errors.
                if ((host & (cs - 1)) != 0) error(l2e + " points to data offset " + hex(host) + ", which is not cluster aligned");
                if (active) {
                    allocated++;
                    if (prevHost >= 0 && host != prevHost + cs) fragmented++;
                    prevHost = host;
                }
                ref(host, cs, "data cluster of " + l2e);
            }
        }
    }

    private static final long L2_RESERVED = Qcow2Image.L2_RESERVED;

    /** COPIED must be set exactly where the refcount is 1 (active L1 and its L2 tables). */
    private int checkCopied(boolean fix) throws IOException {
        int fixed = 0;
        var refs = img.refs;
        for (int i = 0; i < img.l1.length; i++) {
            long l1e = img.l1[i];
            long off = l1e & L2Entry.OFFSET_MASK;
            if (off == 0 || (off & (cs - 1)) != 0) continue;
            long rc;
            try {
                rc = refs.get(off >> cb);
            } catch (Qcow2Exception e) {
                continue; // counted as a check error already
            }
            boolean one = rc == 1;
            if (one != ((l1e & L2Entry.COPIED) != 0)) {
                error("OFLAG_COPIED L2 cluster: l1_index=" + i + " l1_entry=" + Long.toHexString(l1e) + " refcount=" + rc);
                if (fix && (l1e & Qcow2Image.L1_RESERVED) == 0) {
                    img.setL1(i, one ? l1e | L2Entry.COPIED : l1e & ~L2Entry.COPIED);
                    fixed++;
                }
            }
            boolean inFile = off + cs <= ((fileLen + cs - 1) & -(long) cs);
            long[] t = fix && one && inFile ? img.l2Table(off) : readPadded(off, cs / 8);
            boolean changed = false;
            for (int j = 0; j < t.length; j++) {
                long e = t[j];
                if ((e & L2Entry.COMPRESSED) != 0) continue;
                long host = L2Entry.offset(e);
                if (host == 0) continue;
                long hrc;
                try {
                    hrc = refs.get(host >> cb);
                } catch (Qcow2Exception ex) {
                    continue;
                }
                boolean single = hrc == 1;
                if (single != ((e & L2Entry.COPIED) != 0)) {
                    error("OFLAG_COPIED data cluster: l2_entry=" + Long.toHexString(e) + " refcount=" + hrc);
                    if (fix && one && inFile && (e & L2_RESERVED) == 0 && (host & (cs - 1)) == 0) {
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
