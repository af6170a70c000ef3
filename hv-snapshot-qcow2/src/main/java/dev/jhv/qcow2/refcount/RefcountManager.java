package dev.jhv.qcow2.refcount;

import dev.jhv.qcow2.Qcow2Exception;
import dev.jhv.qcow2.format.ImageFile;
import dev.jhv.qcow2.format.Qcow2Header;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Refcount table and blocks: lookup, update (written through at once, so a killed process leaves
 * at worst leaked clusters), allocation that reuses freed clusters, and table growth.
 * Not thread-safe: the image calls it under its metadata write lock.
 */
public final class RefcountManager {
    private final ImageFile file;
    private final int clusterBits;
    private final int clusterSize;
    private final int bits;
    private final long maxRefcount;
    private final int entriesPerBlock;
    private long[] table;
    /** The table's entries as stored, reserved bits included (the checker reports those). */
    private long[] rawTable;
    private final java.util.List<String> damage = new java.util.ArrayList<>();
    private long tableOffset;
    private int tableClusters;
    private final Map<Long, byte[]> blocks;
    /** No free cluster lies below this index. */
    private long freeHint;
    /** All clusters at or past this index are free and past the end of the file. */
    private long endCluster;

    public RefcountManager(ImageFile file, Qcow2Header h, int maxCachedBlocks) throws IOException {
        this.file = file;
        this.clusterBits = h.clusterBits;
        this.clusterSize = 1 << clusterBits;
        this.bits = h.refcountBits();
        this.maxRefcount = bits == 64 ? Long.MAX_VALUE : (1L << bits) - 1;
        this.entriesPerBlock = clusterSize * 8 / bits;
        long tableBytes = (long) Integer.toUnsignedLong(h.refcountTableClusters) << clusterBits;
        if (tableBytes == 0 || tableBytes > Qcow2Header.MAX_REFTABLE_BYTES) {
            throw new Qcow2Exception(file.name() + ": refcount table of " + tableBytes + " bytes is invalid");
        }
        checkAligned(h.refcountTableOffset, "refcount table");
        this.tableOffset = h.refcountTableOffset;
        this.tableClusters = h.refcountTableClusters;
        var b = ByteBuffer.wrap(file.readMeta(tableOffset, (int) tableBytes, "refcount table"));
        this.table = new long[(int) (tableBytes / 8)];
        this.rawTable = new long[table.length];
        long fileLen = file.length();
        for (int i = 0; i < table.length; i++) {
            long raw = b.getLong();
            long e = raw & ~0x1ffL;
            rawTable[i] = raw;
            table[i] = e;
            // Kept for reading (qemu opens such images too); writing through them is refused.
            if ((e & (clusterSize - 1)) != 0) {
                damage.add("refcount table entry " + i + " (at offset 0x" + Long.toHexString(tableOffset + 8L * i)
                        + ") points to refcount block offset 0x" + Long.toHexString(e) + ", which is not cluster aligned");
            } else if (e != 0 && e + clusterSize > roundUp(fileLen)) {
                damage.add("refcount table entry " + i + " (at offset 0x" + Long.toHexString(tableOffset + 8L * i)
                        + ") points to refcount block offset 0x" + Long.toHexString(e) + ", past the end of the file");
            }
        }
        this.blocks = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
                return size() > maxCachedBlocks;
            }
        };
        this.endCluster = (fileLen + clusterSize - 1) >> clusterBits;
    }

    private long roundUp(long v) {
        return (v + clusterSize - 1) & -(long) clusterSize;
    }

    private void checkAligned(long off, String what) throws Qcow2Exception {
        if (off <= 0 || (off & (clusterSize - 1)) != 0) {
            throw new Qcow2Exception(file.name() + ": " + what + " offset " + off + " is invalid");
        }
    }

    public long tableOffset() {
        return tableOffset;
    }

    public int tableClusters() {
        return tableClusters;
    }

    public long[] table() {
        return table;
    }

    /** Entry i of the table as stored on disk, reserved bits included. */
    public long rawEntry(int i) {
        // an entry written since (a new block) no longer has the stored bits
        return rawTable == null || i >= rawTable.length || (rawTable[i] & ~0x1ffL) != table[i] ? table[i] : rawTable[i];
    }

    /** Table entries that point where no refcount block can be: unusable for writing. */
    public java.util.List<String> damage() {
        return java.util.List.copyOf(damage);
    }

    public int entriesPerBlock() {
        return entriesPerBlock;
    }

    public long maxRefcount() {
        return maxRefcount;
    }

    public long endCluster() {
        return endCluster;
    }

    private byte[] block(long blockOffset) throws IOException {
        byte[] b = blocks.get(blockOffset);
        if (b == null) {
            if ((blockOffset & (clusterSize - 1)) != 0) {
                throw new Qcow2Exception(file.name() + ": refcount block at offset 0x" + Long.toHexString(blockOffset)
                        + " is not cluster aligned (refcount table entry corrupted)");
            }
            // A block past the end of the file reads as zeroes, as qemu reads it.
            var bb = ByteBuffer.allocate(clusterSize);
            file.readPadded(blockOffset, bb);
            b = bb.array();
            blocks.put(blockOffset, b);
        }
        return b;
    }

    /** The refcount of a cluster; clusters without a refcount block have refcount 0. */
    public long get(long cluster) throws IOException {
        long bi = cluster / entriesPerBlock;
        if (cluster < 0 || bi >= table.length || table[(int) bi] == 0) return 0;
        return getEntry(block(table[(int) bi]), (int) (cluster % entriesPerBlock));
    }

    private long getEntry(byte[] b, int i) {
        return switch (bits) {
            case 1, 2, 4 -> {
                int bit = i * bits;
                yield (b[bit >> 3] >> (bit & 7)) & ((1 << bits) - 1);
            }
            case 8 -> b[i] & 0xff;
            case 16 -> ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
            case 32 -> ByteBuffer.wrap(b).getInt(4 * i) & 0xffffffffL;
            default -> ByteBuffer.wrap(b).getLong(8 * i);
        };
    }

    /** Sets the entry in the block array and returns the byte range [from, to) that changed. */
    private long setEntry(byte[] b, int i, long v) {
        switch (bits) {
            case 1, 2, 4 -> {
                int bit = i * bits;
                int mask = ((1 << bits) - 1) << (bit & 7);
                b[bit >> 3] = (byte) ((b[bit >> 3] & ~mask) | ((int) (v << (bit & 7)) & mask));
                return ((long) (bit >> 3) << 32) | ((bit >> 3) + 1);
            }
            case 8 -> b[i] = (byte) v;
            case 16 -> {
                b[2 * i] = (byte) (v >> 8);
                b[2 * i + 1] = (byte) v;
            }
            case 32 -> ByteBuffer.wrap(b).putInt(4 * i, (int) v);
            default -> ByteBuffer.wrap(b).putLong(8 * i, v);
        }
        int w = bits / 8;
        return ((long) (i * w) << 32) | (i * w + w);
    }

    public boolean hasBlock(long cluster) {
        long bi = cluster / entriesPerBlock;
        return bi < table.length && table[(int) bi] != 0;
    }

    /** Sets a refcount, writing it through; the cluster's refcount block must exist (or value be 0). */
    public void set(long cluster, long value) throws IOException {
        if (value < 0 || value > maxRefcount) {
            throw new Qcow2Exception(file.name() + ": refcount of cluster " + cluster + " would be "
                    + value + ", beyond the " + bits + "-bit limit");
        }
        long bi = cluster / entriesPerBlock;
        if (bi >= table.length || table[(int) bi] == 0) {
            if (value == 0) return;
            ensureBlock(cluster);
        }
        long blockOff = table[(int) bi];
        byte[] b = block(blockOff);
        long range = setEntry(b, (int) (cluster % entriesPerBlock), value);
        int from = (int) (range >>> 32), to = (int) range;
        file.write(blockOff + from, ByteBuffer.wrap(b, from, to - from));
        if (value == 0 && cluster < freeHint) freeHint = cluster;
        if (value != 0 && cluster >= endCluster) endCluster = cluster + 1;
    }

    public void add(long cluster, long delta) throws IOException {
        long cur = get(cluster);
        if (cur == 0 && delta > 0) {
            throw new Qcow2Exception(file.name() + ": metadata references free cluster " + cluster + " (image corrupt)");
        }
        long v = cur + delta;
        if (v < 0) {
            throw new Qcow2Exception(file.name() + ": refcount of cluster " + cluster + " would drop below zero");
        }
        set(cluster, v);
    }

    /** Adds delta to every cluster overlapping [offset, offset+length). */
    public void addRange(long offset, long length, long delta) throws IOException {
        if (length <= 0) return;
        long first = offset >> clusterBits, last = (offset + length - 1) >> clusterBits;
        for (long c = first; c <= last; c++) add(c, delta);
    }

    /**
     * Clusters whose refcount 1 is already on disk but which nothing references yet: single-cluster
     * allocations take them one by one, so a run of data clusters costs one refcount write. A kill
     * leaves them as leaked clusters, nothing worse.
     */
    private long reserveNext, reserveEnd;
    private static final int RESERVE = 32;

    private java.util.function.LongFunction<String> metadata = c -> null;

    /** Names the metadata the image keeps in a cluster (null: none), so that allocation never hands it out. */
    public void guard(java.util.function.LongFunction<String> metadataAt) {
        this.metadata = metadataAt;
    }

    /** What metadata lives in a cluster, or null. */
    private String metadataAt(long c) {
        if (c == 0) return "the header";
        long tableFirst = tableOffset >> clusterBits;
        if (c >= tableFirst && c < tableFirst + tableClusters) return "the refcount table";
        long off = c << clusterBits;
        for (int i = 0; i < table.length; i++) if (table[i] == off) return "refcount block " + i;
        return metadata.apply(c);
    }

    /** A free cluster that holds metadata: its refcount is wrong, and writing there would destroy the metadata. */
    private void refuseIfMetadata(long c) throws Qcow2Exception {
        String what = metadataAt(c);
        if (what != null) {
            throw new Qcow2Exception(file.name() + ": the image is damaged: cluster " + c + " (offset 0x"
                    + Long.toHexString(c << clusterBits) + ") holds " + what
                    + " but its refcount is 0; 'jhv-img check' lists what is wrong");
        }
    }

    /** Gives the reserved clusters back (before a check, a flush, a close). */
    public void releaseReserve() throws IOException {
        while (reserveNext < reserveEnd) set(reserveNext++, 0);
    }

    /** Allocates one cluster with refcount 1, from the reserve when it has one. */
    public long allocateOne() throws IOException {
        if (reserveNext < reserveEnd) return reserveNext++ << clusterBits;
        long first = allocate(1) >>> clusterBits;
        // Extend with following free clusters of the same refcount block, in one write.
        long bi = first / entriesPerBlock;
        long limit = Math.min(first + RESERVE, (bi + 1) * entriesPerBlock);
        long end = first + 1;
        while (end < limit && get(end) == 0 && metadataAt(end) == null) end++;
        if (end > first + 1) {
            long blockOff = table[(int) bi];
            byte[] b = block(blockOff);
            int from = Integer.MAX_VALUE, to = 0;
            for (long c = first + 1; c < end; c++) {
                long range = setEntry(b, (int) (c % entriesPerBlock), 1);
                from = Math.min(from, (int) (range >>> 32));
                to = Math.max(to, (int) range);
            }
            file.write(blockOff + from, ByteBuffer.wrap(b, from, to - from));
            if (end > endCluster) endCluster = end;
            if (freeHint < end) freeHint = end;
            reserveNext = first + 1;
            reserveEnd = end;
        }
        return first << clusterBits;
    }

    /** Allocates n contiguous free clusters with refcount 1 and returns the byte offset of the first. */
    public long allocate(int n) throws IOException {
        if (n <= 0) throw new IllegalArgumentException("n");
        for (int attempt = 0; ; attempt++) {
            if (attempt > 4096) {
                throw new Qcow2Exception(file.name() + ": cannot allocate clusters: the refcount structures are corrupt");
            }
            long s = freeHint;
            while (get(s) != 0) s++;
            freeHint = s;
            long start = s;
            for (long c = start; c < start + n; c++) {
                if (get(c) != 0) {
                    start = c + 1;
                }
            }
            for (long c = start; c < start + n; c++) refuseIfMetadata(c);
            if (claimRun(start, n)) return start << clusterBits;
        }
    }

    private boolean blockMissing(long bi) {
        return bi >= table.length || table[(int) bi] == 0;
    }

    /** Gives the free run refcount 1; returns false if refcount structures had to change first. */
    private boolean claimRun(long start, int n) throws IOException {
        long firstBi = start / entriesPerBlock, lastBi = (start + n - 1) / entriesPerBlock;
        boolean missing = false;
        for (long bi = firstBi; bi <= lastBi; bi++) missing |= blockMissing(bi);
        if (missing && n == 1) {
            ensureBlock(start);
            return false;
        }
        if (missing) {
            // The blocks go right after the run (a block inside it would push the run onward forever).
            long k = 0, areaEnd;
            while (true) {
                areaEnd = start + n + k;
                long count = 0;
                for (long bi = firstBi; bi <= (areaEnd - 1) / entriesPerBlock; bi++) if (blockMissing(bi)) count++;
                if (count == k) break;
                k = count;
            }
            if ((areaEnd - 1) / entriesPerBlock >= table.length) {
                growTable((areaEnd - 1) / entriesPerBlock);
                return false;
            }
            for (long c = start + n; c < areaEnd; c++) {
                if (get(c) != 0) {
                    ensureBlock(start);
                    return false;
                }
            }
            var newBlocks = new LinkedHashMap<Long, byte[]>();
            var owner = new java.util.HashMap<Long, Long>();
            long next = start + n;
            for (long bi = firstBi; bi <= (areaEnd - 1) / entriesPerBlock; bi++) {
                if (blockMissing(bi)) {
                    owner.put(bi, next << clusterBits);
                    newBlocks.put(next << clusterBits, new byte[clusterSize]);
                    next++;
                }
            }
            var existing = new java.util.ArrayList<Long>();
            for (long c = start; c < areaEnd; c++) {
                Long bo = owner.get(c / entriesPerBlock);
                if (bo != null) setEntry(newBlocks.get(bo), (int) (c % entriesPerBlock), 1);
                else existing.add(c);
            }
            for (var en : newBlocks.entrySet()) {
                file.write(en.getKey(), en.getValue());
                blocks.put(en.getKey(), en.getValue());
            }
            for (var en : owner.entrySet()) {
                table[(int) (long) en.getKey()] = en.getValue();
                file.writeLong(tableOffset + en.getKey() * 8, en.getValue());
            }
            for (long c : existing) set(c, 1);
            endCluster = Math.max(endCluster, areaEnd);
            if (start == freeHint) freeHint = areaEnd;
            return true;
        }
        for (long c = start; c < start + n; c++) set(c, 1);
        if (start == freeHint) freeHint = start + n;
        return true;
    }

    /**
     * Makes the refcount block that covers cluster exist. If the table has room, the new block
     * takes the first free cluster of its own range and counts itself; otherwise the table grows.
     */
    private void ensureBlock(long cluster) throws IOException {
        long bi = cluster / entriesPerBlock;
        if (bi >= table.length) {
            growTable(bi);
            if (table[(int) bi] != 0) return;
        }
        long first = bi * entriesPerBlock;
        // No block covers this range, so every cluster in it is free: the block takes the first one.
        long home = first;
        long tableFirst = tableOffset >> clusterBits;
        if (home == 0 || home >= tableFirst && home < tableFirst + tableClusters) {
            throw new Qcow2Exception(file.name() + ": refcount block " + bi + " is missing where metadata lives (image corrupt)");
        }
        refuseIfMetadata(home);
        byte[] b = new byte[clusterSize];
        setEntry(b, (int) (home - first), 1);
        long off = home << clusterBits;
        file.write(off, b);
        blocks.put(off, b);
        // Point the table at it only after it is on disk.
        table[(int) bi] = off;
        file.writeLong(tableOffset + bi * 8, off);
        if (home >= endCluster) endCluster = home + 1;
    }

    /** Moves the refcount table to a larger copy at the end of the file, with blocks covering itself. */
    private void growTable(long neededIndex) throws IOException {
        long e = Math.max(endCluster, (file.length() + clusterSize - 1) >> clusterBits);
        long entries = Math.max(neededIndex + 1, table.length + table.length / 2 + 1);
        int perCluster = clusterSize / 8;
        while (true) {
            entries = (entries + perCluster - 1) / perCluster * perCluster;
            if (entries * 8 > Qcow2Header.MAX_REFTABLE_BYTES || entries < 0) {
                throw new Qcow2Exception(file.name() + ": refcount table would exceed "
                        + Qcow2Header.MAX_REFTABLE_BYTES + " bytes");
            }
            long tClusters = entries / perCluster;
            // How many new blocks does the area [e, e + tClusters + k) need?
            long k = 0;
            while (true) {
                long areaEnd = e + tClusters + k;
                long missing = 0;
                for (long bi = e / entriesPerBlock; bi <= (areaEnd - 1) / entriesPerBlock; bi++) {
                    if (bi >= table.length || table[(int) bi] == 0) missing++;
                }
                if (missing == k) break;
                k = missing;
            }
            long areaEnd = e + tClusters + k;
            if ((areaEnd - 1) / entriesPerBlock >= entries) {
                entries = (areaEnd - 1) / entriesPerBlock + 1;
                continue;
            }
            if (entries * 8 > Qcow2Header.MAX_REFTABLE_BYTES) {
                throw new Qcow2Exception(file.name() + ": refcount table would exceed "
                        + Qcow2Header.MAX_REFTABLE_BYTES + " bytes");
            }
            long[] nt = java.util.Arrays.copyOf(table, (int) entries);
            long next = e + tClusters;
            var newBlocks = new LinkedHashMap<Long, byte[]>();
            for (long bi = e / entriesPerBlock; bi <= (areaEnd - 1) / entriesPerBlock; bi++) {
                if (nt[(int) bi] == 0) {
                    nt[(int) bi] = next << clusterBits;
                    newBlocks.put(next << clusterBits, new byte[clusterSize]);
                    next++;
                }
            }
            // Refcounts of the area: new blocks are filled in memory, existing blocks written through later.
            var existing = new java.util.ArrayList<Long>();
            for (long c = e; c < areaEnd; c++) {
                long bo = nt[(int) (c / entriesPerBlock)];
                byte[] nb = newBlocks.get(bo);
                if (nb != null) setEntry(nb, (int) (c % entriesPerBlock), 1);
                else existing.add(c);
            }
            for (var en : newBlocks.entrySet()) {
                file.write(en.getKey(), en.getValue());
                blocks.put(en.getKey(), en.getValue());
            }
            var tb = ByteBuffer.allocate((int) (tClusters * clusterSize));
            for (long v : nt) tb.putLong(v);
            tb.flip();
            file.write(e << clusterBits, tb);
            for (long c : existing) set(c, 1);
            long oldOffset = tableOffset;
            int oldClusters = tableClusters;
            table = nt;
            rawTable = null;
            tableOffset = e << clusterBits;
            tableClusters = (int) tClusters;
            file.write(Qcow2Header.OFF_REFTABLE, ByteBuffer.allocate(12).putLong(tableOffset).putInt(tableClusters).flip());
            endCluster = Math.max(endCluster, areaEnd);
            for (long c = oldOffset >> clusterBits; c < (oldOffset >> clusterBits) + oldClusters; c++) add(c, -1);
            return;
        }
    }

    public void forgetCache() {
        blocks.clear();
    }
}
