package dev.jhv.qcow2;

import dev.jhv.core.block.BlockDevice;
import dev.jhv.core.block.ImageLock;
import dev.jhv.qcow2.cluster.L2Cache;
import dev.jhv.qcow2.cluster.L2Entry;
import dev.jhv.qcow2.format.Features;
import dev.jhv.qcow2.format.ImageFile;
import dev.jhv.qcow2.format.Qcow2Header;
import dev.jhv.qcow2.refcount.RefcountManager;
import dev.jhv.qcow2.snapshot.Snapshot;
import dev.jhv.qcow2.snapshot.SnapshotTable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * A qcow2 image (versions 2 and 3) as a {@link BlockDevice}.
 *
 * <p>Concurrency: reads, and writes to clusters this image already owns alone, run in parallel under
 * a shared lock; anything that changes metadata (allocation, discard, snapshots) takes the lock
 * exclusively. Crash consistency: every metadata update is written through at once, in the order
 * refcount, then data, then the L2/L1 entry that points to it, then the release of what it replaced;
 * a process killed at any point leaves at most leaked clusters.
 */
public final class Qcow2Image implements BlockDevice {
    private static final System.Logger LOG = System.getLogger(Qcow2Image.class.getName());
    static final int MAX_BACKING_DEPTH = 32;
    private static final long CACHE_BYTES = 8L << 20;

    final ImageFile file;
    final Qcow2Header header;
    final boolean readOnly;
    final boolean v3;
    final int clusterBits;
    final int clusterSize;
    final int l2Bits;
    final int l2Entries;
    final L2Cache l2cache;
    final RefcountManager refs;
    final BlockDevice backing;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    volatile long size;
    long[] l1;
    long l1Offset;
    List<Snapshot> snapshots;
    /** Bytes the snapshot table takes on disk, as read or last written. */
    long snapshotTableLength;
    /** Entries of the snapshot table that qemu-img check would call corrupt, as found at open. */
    List<String> snapshotProblems = List.of();
    /**
     * Metadata that points where it cannot: a read-only image opens anyway (reads through it fail
     * where they meet it, and check reports it); a writable one is refused.
     */
    final List<String> damage = new ArrayList<>();
    private boolean markedDirty;
    private long compressedCluster = -1;
    private int compressedUsed;
    private boolean closed;

    /** Options of {@link #create}; sizes in bytes. */
    public record CreateOptions(long size, int clusterSize, int version, int refcountBits, boolean lazyRefcounts,
            String backingFile, String backingFormat) {
        public static CreateOptions of(long size) {
            return new CreateOptions(size, 65536, 3, 16, false, null, null);
        }

        public CreateOptions withClusterSize(int cs) {
            return new CreateOptions(size, cs, version, refcountBits, lazyRefcounts, backingFile, backingFormat);
        }

        public CreateOptions withVersion(int v) {
            return new CreateOptions(size, clusterSize, v, refcountBits, lazyRefcounts, backingFile, backingFormat);
        }

        public CreateOptions withRefcountBits(int b) {
            return new CreateOptions(size, clusterSize, version, b, lazyRefcounts, backingFile, backingFormat);
        }

        public CreateOptions withLazyRefcounts(boolean l) {
            return new CreateOptions(size, clusterSize, version, refcountBits, l, backingFile, backingFormat);
        }

        public CreateOptions withBacking(String file, String format) {
            return new CreateOptions(size, clusterSize, version, refcountBits, lazyRefcounts, file, format);
        }
    }

    // ---------------------------------------------------------------- open / create

    /** Opened as a guest's disk would be ({@link ImageLock.Access#device}). */
    public static Qcow2Image open(Path path, boolean readOnly) throws IOException {
        return open(path, ImageLock.Access.device(!readOnly), 0);
    }

    /** Opened in {@code access}'s role (locks, and its backing files' role); writable when it holds write. */
    public static Qcow2Image open(Path path, ImageLock.Access access) throws IOException {
        return open(path, access, 0);
    }

    static Qcow2Image open(Path path, ImageLock.Access access, int depth) throws IOException {
        if (depth > MAX_BACKING_DEPTH) {
            throw new Qcow2Exception(path + ": backing chain deeper than " + MAX_BACKING_DEPTH + " (a loop?)");
        }
        ImageFile f;
        try {
            f = new ImageFile(path, access);
        } catch (IOException e) {
            throw new Qcow2Exception("Could not open '" + path + "': " + Qcow2Exception.reason(e), e);
        }
        try {
            return new Qcow2Image(f, access, depth);
        } catch (Qcow2Exception e) {
            f.close();
            throw e;
        } catch (IOException | RuntimeException e) {
            f.close();
            throw new Qcow2Exception(path + ": cannot open qcow2 image: "
                    + (e instanceof IOException io ? Qcow2Exception.reason(io) : String.valueOf(e.getMessage())), e);
        }
    }

    /** Creates an empty image (overwriting the file) and returns it open for writing. */
    public static Qcow2Image create(Path path, CreateOptions o) throws IOException {
        int cs = o.clusterSize();
        if (Integer.bitCount(cs) != 1 || cs < 512 || cs > (2 << 20)) {
            throw new Qcow2Exception("Cluster size must be a power of two between 512 and 2048k");
        }
        if (o.version() != 2 && o.version() != 3) throw new Qcow2Exception("Invalid compat version " + o.version());
        int rb = o.refcountBits();
        if (Integer.bitCount(rb) != 1 || rb > 64) throw new Qcow2Exception("Refcount width must be a power of two and may not exceed 64 bits");
        if (o.version() == 2 && rb != 16) throw new Qcow2Exception("Different refcount widths than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)");
        if (o.version() == 2 && o.lazyRefcounts()) throw new Qcow2Exception("Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)");
        int clusterBits = Integer.numberOfTrailingZeros(cs);
        if (o.size() < 0 || o.size() > maxSize(clusterBits)) {
            throw new Qcow2Exception("Image size " + o.size() + " is too large for cluster size " + cs);
        }
        var h = new Qcow2Header();
        h.version = o.version();
        h.clusterBits = clusterBits;
        h.size = 0; // set by the resize below, once the L1 table exists
        h.refcountOrder = Integer.numberOfTrailingZeros(rb);
        h.compatible = o.lazyRefcounts() ? Features.COMPAT_LAZY_REFCOUNTS : 0;
        h.backingFile = o.backingFile();
        h.backingFormat = o.backingFile() == null ? null : o.backingFormat();
        // Cluster 0 header, 1 refcount table, 2 first refcount block; the L1 table is allocated normally.
        h.refcountTableOffset = cs;
        h.refcountTableClusters = 1;
        byte[] hdr = h.encode(true);
        // the old contents go only once the lock is ours: an image in use elsewhere stays intact
        Files.newByteChannel(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE).close();
        try (var f = lockedForCreate(path)) {
            f.truncate(0);
            var head = ByteBuffer.allocate(3 * cs);
            head.put(hdr);
            head.putLong(cs, 2L * cs);
            // Refcount block: clusters 0, 1, 2 have refcount 1.
            var rbBlock = new byte[cs];
            for (int c = 0; c < 3; c++) setRefcount(rbBlock, c, rb);
            head.put(2 * cs, rbBlock);
            f.write(0, head.array());
        }
        var img = open(path, false);
        try {
            img.resize(o.size());
            return img;
        } catch (IOException | RuntimeException e) {
            img.close();
            throw e;
        }
    }

    private static ImageFile lockedForCreate(Path path) throws IOException {
        try {
            return new ImageFile(path, ImageLock.Access.writer());
        } catch (ImageLock.ConflictException e) {
            throw new Qcow2Exception(path + ": " + e.getMessage(), e);
        }
    }

    private static void setRefcount(byte[] b, int i, int bits) {
        int bit = i * bits;
        if (bits < 8) {
            b[bit >> 3] |= (byte) (1 << (bit & 7));
        } else {
            b[(bit >> 3) + bits / 8 - 1] = 1;
        }
    }

    static long maxSize(int clusterBits) {
        long l1Max = Qcow2Header.MAX_L1_BYTES / 8;
        long perL2 = 1L << (clusterBits + clusterBits - 3);
        return Math.min(l1Max * perL2, 1L << 62);
    }

    static int l1EntriesFor(long size, int clusterBits) {
        long perL2 = 1L << (clusterBits + clusterBits - 3);
        return (int) ((size + perL2 - 1) / perL2);
    }

    private Qcow2Image(ImageFile f, ImageLock.Access access, int depth) throws IOException {
        this.file = f;
        this.readOnly = !access.writes();
        String name = f.name();
        var h = Qcow2Header.read(f);
        this.header = h;
        this.v3 = h.version == 3;
        long unknown = h.incompatible & ~Features.INCOMPAT_KNOWN;
        if (unknown != 0) {
            var names = new ArrayList<String>();
            for (int bit = 0; bit < 64; bit++) {
                if ((unknown & (1L << bit)) != 0) names.add(h.featureName(0, bit));
            }
            throw new Qcow2Exception(name + ": unsupported qcow2 feature(s): " + String.join(", ", names));
        }
        if ((h.incompatible & Features.INCOMPAT_DATA_FILE) != 0) {
            throw new Qcow2Exception(name + ": images with an external data file are not supported");
        }
        if ((h.incompatible & Features.INCOMPAT_EXTL2) != 0) {
            throw new Qcow2Exception(name + ": images with extended L2 entries (subclusters) are not supported");
        }
        if (h.compressionType != 0) {
            throw new Qcow2Exception(name + ": compression type " + h.compressionType + " (zstd) is not supported");
        }
        if ((h.incompatible & Features.INCOMPAT_CORRUPT) != 0 && !readOnly) {
            throw new Qcow2Exception(name + ": image is marked corrupt; open it read-only, or repair it with 'jhv-img check -r all'");
        }
        this.clusterBits = h.clusterBits;
        this.clusterSize = 1 << clusterBits;
        this.l2Bits = clusterBits - 3;
        this.l2Entries = 1 << l2Bits;
        if (h.size > maxSize(clusterBits)) {
            throw new Qcow2Exception(name + ": virtual size " + h.size + " exceeds the maximum for this cluster size");
        }
        this.size = h.size;
        long fileLen = f.length();
        // Active L1 table.
        long l1Bytes = Integer.toUnsignedLong(h.l1Size) * 8;
        if (l1Bytes > Qcow2Header.MAX_L1_BYTES) throw new Qcow2Exception(name + ": active L1 table too large");
        if (h.l1Size < l1EntriesFor(h.size, clusterBits)) {
            throw new Qcow2Exception(name + ": L1 table is too small for the virtual size");
        }
        this.l1Offset = h.l1TableOffset;
        if (h.l1Size > 0 && (l1Offset <= 0 || (l1Offset & (clusterSize - 1)) != 0)) {
            throw new Qcow2Exception(name + ": L1 table offset " + l1Offset + " is invalid");
        }
        this.l1 = h.l1Size == 0 ? new long[0] : readTable(l1Offset, h.l1Size, "active L1 table");
        for (int i = 0; i < l1.length; i++) {
            long off = l1[i] & L2Entry.OFFSET_MASK;
            if ((off & (clusterSize - 1)) != 0) {
                damage.add("active L1 table entry " + i + " (at offset 0x" + Long.toHexString(l1Offset + 8L * i)
                        + ") points to L2 table offset 0x" + Long.toHexString(off) + ", which is not cluster aligned");
            }
        }
        this.refs = new RefcountManager(f, h, (int) Math.max(16, CACHE_BYTES / clusterSize));
        damage.addAll(refs.damage());
        var table = SnapshotTable.read(f, h);
        this.snapshots = table.snapshots();
        this.snapshotTableLength = table.length();
        this.snapshotProblems = table.problems();
        if (h.nbSnapshots > 0 && h.snapshotsOffset + snapshotTableLength > roundUp(fileLen)) {
            damage.add("the snapshot table (offset 0x" + Long.toHexString(h.snapshotsOffset) + ", " + snapshotTableLength
                    + " bytes) extends past the end of the file");
        }
        for (int i = 0; i < snapshots.size(); i++) {
            String bad = snapshotL1Problem(snapshots.get(i), fileLen);
            if (bad != null) damage.add("snapshot table entry " + i + ": " + bad);
        }
        checkOverlaps(h);
        if (!readOnly && !damage.isEmpty()) {
            throw new Qcow2Exception(name + ": the image is damaged: " + damage.getFirst()
                    + (damage.size() > 1 ? " (and " + (damage.size() - 1) + " more)" : "")
                    + "; 'jhv-img check' lists what is wrong");
        }
        this.l2cache = new L2Cache(f, clusterSize, CACHE_BYTES);
        refs.guard(this::metadataAt);
        // Backing chain.
        BlockDevice b = null;
        if (h.backingFile != null) {
            // relative to the image's directory as given, so that messages name it as QEMU's do
            Path bp = f.path().getParent() == null ? Path.of(h.backingFile) : f.path().getParent().resolve(h.backingFile);
            try {
                b = BlockImages.open(bp, h.backingFormat, access.backing(), depth + 1);
            } catch (ImageLock.ConflictException e) {
                throw new Qcow2Exception("Could not open '" + name + "': Could not open backing file: " + e.getMessage(), e);
            } catch (Qcow2Exception e) {
                if (e.getCause() instanceof ImageLock.ConflictException c) {
                    throw new Qcow2Exception("Could not open '" + name + "': Could not open backing file: "
                            + c.getMessage(), c);
                }
                throw new Qcow2Exception("Could not open '" + name + "': Could not open backing file: "
                        + e.getMessage(), e);
            } catch (IOException e) {
                throw new Qcow2Exception("Could not open '" + name + "': Could not open backing file: "
                        + Qcow2Exception.reason(e), e);
            }
        }
        this.backing = b;
        if (!readOnly) {
            try {
                if (h.autoclear != 0 && v3) {
                    // We don't maintain what autoclear features describe (bitmaps): say so, as the spec asks.
                    h.autoclear = 0;
                    f.writeLong(Qcow2Header.OFF_AUTOCLEAR, 0);
                }
                if ((h.incompatible & Features.INCOMPAT_DIRTY) != 0) {
                    LOG.log(System.Logger.Level.DEBUG, "{0}: image was not closed cleanly, repairing refcounts", name);
                    new ImageChecker(this).check(ImageChecker.Repair.ALL);
                    setIncompatible(h.incompatible & ~Features.INCOMPAT_DIRTY);
                }
            } catch (IOException | RuntimeException e) {
                if (b != null) b.close();
                throw e;
            }
        }
    }

    /** An L1 table as stored, unchecked. */
    long[] readTable(long offset, int entries, String what) throws IOException {
        var bb = ByteBuffer.wrap(file.readMeta(offset, entries * 8, what));
        long[] t = new long[entries];
        for (int i = 0; i < entries; i++) t[i] = bb.getLong();
        return t;
    }

    /** An L1 table to follow: every entry must point to an aligned L2 table. */
    long[] readL1(long offset, int entries, String what) throws IOException {
        if ((offset & (clusterSize - 1)) != 0) {
            throw new Qcow2Exception(file.name() + ": " + what + " at offset 0x" + Long.toHexString(offset) + " is not cluster aligned");
        }
        long[] t = readTable(offset, entries, what);
        for (int i = 0; i < entries; i++) {
            long off = t[i] & L2Entry.OFFSET_MASK;
            if ((off & (clusterSize - 1)) != 0) {
                throw new Qcow2Exception(file.name() + ": " + what + " entry " + i + " (at offset 0x"
                        + Long.toHexString(offset + 8L * i) + ") points to unaligned L2 table offset 0x" + Long.toHexString(off));
            }
        }
        return t;
    }

    /** Why a snapshot's L1 table cannot be used, or null. */
    String snapshotL1Problem(Snapshot s, long fileLen) {
        String at = "snapshot " + s.id() + " ('" + s.name() + "') ";
        if (s.l1Size() < 0 || (long) s.l1Size() * 8 > Qcow2Header.MAX_L1_BYTES) {
            return at + "has an L1 table of " + Integer.toUnsignedString(s.l1Size()) + " entries, more than qcow2 allows";
        }
        if (s.l1Size() == 0) return null;
        if (s.l1Offset() <= 0 || (s.l1Offset() & (clusterSize - 1)) != 0) {
            return at + "has its L1 table at offset 0x" + Long.toHexString(s.l1Offset()) + ", which is not cluster aligned";
        }
        if (s.l1Offset() + 8L * s.l1Size() > roundUp(fileLen) || s.l1Offset() + 8L * s.l1Size() < 0) {
            return at + "has its L1 table at offset 0x" + Long.toHexString(s.l1Offset()) + ", past the end of the file";
        }
        return null;
    }

    private void checkOverlaps(Qcow2Header h) {
        record Area(String what, long start, long end) {}
        var areas = new ArrayList<Area>();
        areas.add(new Area("header", 0, clusterSize));
        if (l1.length > 0) areas.add(new Area("L1 table", l1Offset, roundUp(l1Offset + 8L * l1.length)));
        areas.add(new Area("refcount table", refs.tableOffset(),
                refs.tableOffset() + ((long) refs.tableClusters() << clusterBits)));
        if (!snapshots.isEmpty()) {
            areas.add(new Area("snapshot table", h.snapshotsOffset, roundUp(h.snapshotsOffset + snapshotTableLength)));
        }
        for (int i = 0; i < areas.size(); i++) {
            for (int j = i + 1; j < areas.size(); j++) {
                var a = areas.get(i);
                var b = areas.get(j);
                if (a.start() < b.end() && b.start() < a.end()) {
                    damage.add("metadata overlap: the " + a.what() + " (offset 0x" + Long.toHexString(a.start())
                            + ") and the " + b.what() + " (offset 0x" + Long.toHexString(b.start()) + ") share clusters");
                }
            }
        }
    }

    /** The metadata of this image (other than refcounts) kept in a cluster, or null. */
    private String metadataAt(long cluster) {
        long off = cluster << clusterBits;
        if (off >= l1Offset && off < l1Offset + 8L * l1.length) return "the active L1 table";
        for (int i = 0; i < l1.length; i++) {
            if ((l1[i] & L2Entry.OFFSET_MASK) == off) return "the L2 table of active L1 entry " + i;
        }
        if (!snapshots.isEmpty() && off >= (header.snapshotsOffset & -(long) clusterSize)
                && off < header.snapshotsOffset + snapshotTableLength) {
            return "the snapshot table";
        }
        for (var s : snapshots) {
            if (s.l1Size() > 0 && off >= (s.l1Offset() & -(long) clusterSize) && off < s.l1Offset() + 8L * s.l1Size()) {
                return "the L1 table of snapshot " + s.id();
            }
        }
        return null;
    }

    long roundUp(long v) {
        return (v + clusterSize - 1) & -(long) clusterSize;
    }

    // ---------------------------------------------------------------- accessors

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    public Path path() {
        return file.path();
    }

    public int clusterSize() {
        return clusterSize;
    }

    public int version() {
        return header.version;
    }

    public int refcountBits() {
        return header.refcountBits();
    }

    public boolean lazyRefcounts() {
        return (header.compatible & Features.COMPAT_LAZY_REFCOUNTS) != 0;
    }

    public boolean isDirty() {
        return (header.incompatible & Features.INCOMPAT_DIRTY) != 0;
    }

    public boolean isCorrupt() {
        return (header.incompatible & Features.INCOMPAT_CORRUPT) != 0;
    }

    /** Backing file name as stored in the header, or null. */
    public String backingFileName() {
        return header.backingFile;
    }

    public String backingFormat() {
        return header.backingFormat;
    }

    /** The open backing image, or null. */
    public BlockDevice backing() {
        return backing;
    }

    @Override
    public String describe() {
        return file.name() + " (qcow2)";
    }

    // ---------------------------------------------------------------- read

    private void checkRange(long offset, long len, long limit) throws Qcow2Exception {
        if (offset < 0 || len < 0 || offset + len > limit || offset + len < 0) {
            throw new Qcow2Exception(file.name() + ": request [" + offset + ", +" + len + ") beyond the disk end " + limit);
        }
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        checkRange(offset, dst.remaining(), size);
        lock.readLock().lock();
        try {
            readAt(l1, offset, dst);
        } finally {
            lock.readLock().unlock();
        }
    }

    long entry(long[] l1t, long vcl) throws IOException {
        long l1i = vcl >>> l2Bits;
        if (l1i >= l1t.length) return 0;
        long l2 = l1t[(int) l1i] & L2Entry.OFFSET_MASK;
        if (l2 == 0) return 0;
        return l2Table(l2)[(int) (vcl & (l2Entries - 1))];
    }

    long[] l2Table(long off) throws IOException {
        if ((off & (clusterSize - 1)) != 0) {
            throw new Qcow2Exception(file.name() + ": L2 table at unaligned offset " + off);
        }
        return l2cache.get(off);
    }

    long dataOffset(long e) throws Qcow2Exception {
        long host = L2Entry.offset(e);
        if ((host & (clusterSize - 1)) != 0) {
            throw new Qcow2Exception(file.name() + ": data cluster at unaligned offset " + host + " (image corrupt)");
        }
        return host;
    }

    private void readAt(long[] l1t, long offset, ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            int inCl = (int) (offset & (clusterSize - 1));
            int n = (int) Math.min(dst.remaining(), clusterSize - inCl);
            long vcl = offset >>> clusterBits;
            long e = entry(l1t, vcl);
            var slice = dst.slice(dst.position(), n);
            switch (L2Entry.type(e, v3)) {
                case NORMAL -> {
                    long host = dataOffset(e);
                    // Extend over following clusters that are contiguous on the host.
                    while (n < dst.remaining()) {
                        long ne = entry(l1t, vcl + 1);
                        if (L2Entry.type(ne, v3) != L2Entry.Type.NORMAL
                                || L2Entry.offset(ne) != host + ((vcl + 1 - (offset >>> clusterBits)) << clusterBits)) break;
                        vcl++;
                        n = (int) Math.min(dst.remaining(), (long) n + clusterSize);
                    }
                    slice = dst.slice(dst.position(), n);
                    file.readPadded(host + inCl, slice);
                }
                case ZERO_PLAIN, ZERO_ALLOC -> fillZero(slice);
                case COMPRESSED -> slice.put(decompress(e), inCl, n);
                case UNALLOCATED -> readBacking(offset, slice);
            }
            dst.position(dst.position() + n);
            offset += n;
        }
    }

    private static void fillZero(ByteBuffer b) {
        while (b.remaining() >= 8) b.putLong(0);
        while (b.hasRemaining()) b.put((byte) 0);
    }

    private void readBacking(long offset, ByteBuffer slice) throws IOException {
        if (backing != null) {
            long bsize = backing.size();
            if (offset < bsize) {
                int n = (int) Math.min(slice.remaining(), bsize - offset);
                backing.read(offset, slice.slice(slice.position(), n));
                slice.position(slice.position() + n);
            }
        }
        fillZero(slice);
    }

    byte[] decompress(long e) throws IOException {
        long coff = L2Entry.compressedOffset(e, clusterBits);
        int csize = L2Entry.compressedSize(e, clusterBits);
        var in = ByteBuffer.allocate(csize);
        file.readPadded(coff, in);
        var inf = new Inflater(true);
        try {
            inf.setInput(in.array());
            byte[] out = new byte[clusterSize];
            int got = 0;
            while (got < clusterSize) {
                int n = inf.inflate(out, got, clusterSize - got);
                if (n == 0) break;
                got += n;
            }
            if (got != clusterSize) {
                throw new Qcow2Exception(file.name() + ": compressed cluster at " + coff + " decompresses to " + got + " bytes");
            }
            return out;
        } catch (DataFormatException ex) {
            throw new Qcow2Exception(file.name() + ": compressed cluster at " + coff + " is corrupt: " + ex.getMessage());
        } finally {
            inf.end();
        }
    }

    // ---------------------------------------------------------------- write

    private void checkWritable() throws Qcow2Exception {
        if (readOnly) throw new Qcow2Exception(file.name() + ": image is opened read-only");
        if (closed) throw new Qcow2Exception(file.name() + ": image is closed");
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        checkWritable();
        checkRange(offset, src.remaining(), size);
        writeAt(offset, src);
    }

    private void writeAt(long offset, ByteBuffer src) throws IOException {
        // Fast path: clusters this image owns alone are overwritten in place, in parallel.
        lock.readLock().lock();
        try {
            while (src.hasRemaining()) {
                int inCl = (int) (offset & (clusterSize - 1));
                int n = (int) Math.min(src.remaining(), clusterSize - inCl);
                long e = entry(l1, offset >>> clusterBits);
                if (L2Entry.type(e, v3) != L2Entry.Type.NORMAL || (e & L2Entry.COPIED) == 0) break;
                long host = dataOffset(e);
                file.write(host + inCl, src.slice(src.position(), n));
                src.position(src.position() + n);
                offset += n;
            }
        } finally {
            lock.readLock().unlock();
        }
        if (!src.hasRemaining()) return;
        lock.writeLock().lock();
        try {
            markDirty();
            while (src.hasRemaining()) {
                int n = writeCluster(offset, src);
                src.position(src.position() + n);
                offset += n;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void markDirty() throws IOException {
        if (!markedDirty && lazyRefcounts() && v3) {
            setIncompatible(header.incompatible | Features.INCOMPAT_DIRTY);
            markedDirty = true;
        }
    }

    private void setIncompatible(long bits) throws IOException {
        header.incompatible = bits;
        file.writeLong(Qcow2Header.OFF_INCOMPAT, bits);
    }

    record L2Ref(long offset, long[] table) {}

    void setL1(int i, long v) throws IOException {
        l1[i] = v;
        file.writeLong(l1Offset + 8L * i, v);
    }

    void setL2(L2Ref ref, int idx, long v) throws IOException {
        ref.table()[idx] = v;
        file.writeLong(ref.offset() + 8L * idx, v);
    }

    /** The L2 table for an L1 index, allocated or copied so that this image owns it alone. */
    L2Ref l2ForWrite(long l1i) throws IOException {
        if (l1i >= l1.length) growL1(l1i + 1, false);
        int i = (int) l1i;
        long l1e = l1[i];
        long off = l1e & L2Entry.OFFSET_MASK;
        if (off == 0) {
            long n = refs.allocate(1);
            file.write(n, new byte[clusterSize]);
            l2cache.put(n, new long[l2Entries]);
            setL1(i, n | L2Entry.COPIED);
            return new L2Ref(n, l2cache.get(n));
        }
        if ((l1e & L2Entry.COPIED) == 0) {
            if (refs.get(off >>> clusterBits) == 1) {
                setL1(i, l1e | L2Entry.COPIED);
            } else {
                long[] copy = l2Table(off).clone();
                long n = refs.allocate(1);
                file.write(n, encode(copy));
                l2cache.put(n, copy);
                setL1(i, n | L2Entry.COPIED);
                refs.add(off >>> clusterBits, -1);
                return new L2Ref(n, copy);
            }
        }
        return new L2Ref(off, l2Table(off));
    }

    static byte[] encode(long[] t) {
        var b = ByteBuffer.allocate(t.length * 8);
        for (long v : t) b.putLong(v);
        return b.array();
    }

    /** Grows the active L1 table to at least minEntries (exactly, if exact). */
    void growL1(long minEntries, boolean exact) throws IOException {
        long max = Qcow2Header.MAX_L1_BYTES / 8;
        if (minEntries > max) throw new Qcow2Exception(file.name() + ": L1 table would exceed its maximum size");
        int n = (int) (exact ? minEntries : Math.min(max, Math.max(minEntries, l1.length + l1.length / 2)));
        if (n <= l1.length) return;
        long[] nl = java.util.Arrays.copyOf(l1, n);
        int clusters = (int) (roundUp(8L * n) >>> clusterBits);
        long off = refs.allocate(clusters);
        var b = ByteBuffer.allocate(clusters * clusterSize);
        for (long v : nl) b.putLong(v);
        file.write(off, b.array());
        file.write(Qcow2Header.OFF_L1, ByteBuffer.allocate(12).putInt(n).putLong(off).flip());
        long oldOff = l1Offset;
        int oldLen = l1.length;
        l1 = nl;
        l1Offset = off;
        header.l1Size = n;
        header.l1TableOffset = off;
        if (oldLen > 0) refs.addRange(oldOff, 8L * oldLen, -1);
    }

    /** Writes the part of src that falls in one cluster; returns the byte count. Under the write lock. */
    private int writeCluster(long offset, ByteBuffer src) throws IOException {
        int inCl = (int) (offset & (clusterSize - 1));
        int n = (int) Math.min(src.remaining(), clusterSize - inCl);
        long vcl = offset >>> clusterBits;
        var ref = l2ForWrite(vcl >>> l2Bits);
        int idx = (int) (vcl & (l2Entries - 1));
        long e = ref.table()[idx];
        var type = L2Entry.type(e, v3);
        if (type == L2Entry.Type.NORMAL) {
            long host = dataOffset(e);
            if ((e & L2Entry.COPIED) == 0 && refs.get(host >>> clusterBits) == 1) {
                setL2(ref, idx, e | L2Entry.COPIED);
                e |= L2Entry.COPIED;
            }
            if ((e & L2Entry.COPIED) != 0) {
                file.write(host + inCl, src.slice(src.position(), n));
                return n;
            }
        }
        ByteBuffer data;
        if (n == clusterSize) {
            data = src.slice(src.position(), n);
        } else {
            byte[] buf = new byte[clusterSize];
            switch (type) {
                case NORMAL -> file.readPadded(dataOffset(e), ByteBuffer.wrap(buf));
                case COMPRESSED -> buf = decompress(e);
                case UNALLOCATED -> readBacking(vcl << clusterBits, ByteBuffer.wrap(buf));
                case ZERO_PLAIN, ZERO_ALLOC -> { }
            }
            src.get(src.position(), buf, inCl, n);
            data = ByteBuffer.wrap(buf);
        }
        boolean reuse = type == L2Entry.Type.ZERO_ALLOC && (L2Entry.offset(e) & (clusterSize - 1)) == 0
                && refs.get(L2Entry.offset(e) >>> clusterBits) == 1;
        long host = reuse ? L2Entry.offset(e) : allocateData();
        file.write(host, data);
        setL2(ref, idx, host | L2Entry.COPIED);
        if (!reuse) release(e);
        return n;
    }

    private long allocateData() throws IOException {
        long host = refs.allocateOne();
        if (host == 0 || host >>> clusterBits < 1) throw new Qcow2Exception(file.name() + ": allocator returned the header");
        return host;
    }

    /** Drops the reference an L2 entry held. */
    private void release(long e) throws IOException {
        switch (L2Entry.type(e, v3)) {
            case NORMAL, ZERO_ALLOC -> refs.add(L2Entry.offset(e) >>> clusterBits, -1);
            case COMPRESSED -> refs.addRange(L2Entry.compressedOffset(e, clusterBits),
                    L2Entry.compressedSize(e, clusterBits), -1);
            default -> { }
        }
    }

    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        checkWritable();
        checkRange(offset, length, size);
        lock.writeLock().lock();
        try {
            markDirty();
            clearRange(offset, length, false);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        checkWritable();
        checkRange(offset, length, size);
        lock.writeLock().lock();
        try {
            markDirty();
            clearRange(offset, length, true);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Zero-write or discard; under the write lock. */
    private void clearRange(long offset, long length, boolean discard) throws IOException {
        long end = offset + length;
        while (offset < end) {
            int inCl = (int) (offset & (clusterSize - 1));
            int n = (int) Math.min(end - offset, clusterSize - inCl);
            if (n < clusterSize && !(offset + n == size && inCl == 0)) {
                if (!discard) writeCluster(offset, ByteBuffer.allocate(n));
                offset += n;
                continue;
            }
            long target;
            if (discard) {
                target = v3 && backing != null ? L2Entry.ZERO : 0;
            } else if (v3) {
                target = L2Entry.ZERO;
            } else {
                target = backing == null ? 0 : -1;
            }
            long vcl = offset >>> clusterBits;
            long cur = entry(l1, vcl);
            var type = L2Entry.type(cur, v3);
            if (target == -1) {
                writeCluster(offset, ByteBuffer.allocate(n));
            } else if (!(cur == target || (type == L2Entry.Type.UNALLOCATED && backing == null))) {
                var ref = l2ForWrite(vcl >>> l2Bits);
                int idx = (int) (vcl & (l2Entries - 1));
                long e = ref.table()[idx];
                setL2(ref, idx, target);
                release(e);
            }
            offset += n;
        }
    }

    @Override
    public void flush() throws IOException {
        if (readOnly) return;
        lock.writeLock().lock();
        try {
            refs.releaseReserve();
        } finally {
            lock.writeLock().unlock();
        }
        file.flush();
    }

    // ---------------------------------------------------------------- compressed writes (convert -c)

    /**
     * Writes one whole, cluster-aligned cluster compressed (raw deflate, as QEMU's zlib type).
     * Falls back to a normal write if the data does not shrink.
     */
    public void writeCompressed(long offset, byte[] cluster) throws IOException {
        checkWritable();
        if ((offset & (clusterSize - 1)) != 0 || cluster.length != clusterSize) {
            throw new IllegalArgumentException("compressed writes take whole aligned clusters");
        }
        checkRange(offset, clusterSize, roundUp(size));
        byte[] comp = deflate(cluster);
        lock.writeLock().lock();
        try {
            if (comp == null || comp.length >= clusterSize - 512) {
                long n = Math.min(clusterSize, size - offset);
                writeCluster(offset, ByteBuffer.wrap(cluster, 0, (int) n));
                return;
            }
            long host;
            if (compressedCluster >= 0 && compressedUsed + comp.length <= clusterSize
                    && refs.get(compressedCluster >>> clusterBits) > 0) {
                host = compressedCluster + compressedUsed;
                refs.add(compressedCluster >>> clusterBits, 1);
            } else {
                compressedCluster = refs.allocate(1);
                compressedUsed = 0;
                host = compressedCluster;
            }
            int padded = (int) (((host & 511) + comp.length + 511) / 512 * 512 - (host & 511));
            file.write(host, java.util.Arrays.copyOf(comp, padded));
            compressedUsed += comp.length;
            long vcl = offset >>> clusterBits;
            var ref = l2ForWrite(vcl >>> l2Bits);
            int idx = (int) (vcl & (l2Entries - 1));
            long old = ref.table()[idx];
            setL2(ref, idx, L2Entry.compressed(host, comp.length, clusterBits));
            release(old);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Raw deflate whose back-references stay within 4 KiB: QEMU inflates with a 4 KiB window, so
     * the history is reset (full flush) every 4 KiB of input.
     */
    static byte[] deflate(byte[] in) {
        var d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        try {
            var out = new java.io.ByteArrayOutputStream(in.length / 2);
            byte[] buf = new byte[in.length + 1024];
            for (int p = 0; p < in.length; p += 4096) {
                d.setInput(in, p, Math.min(4096, in.length - p));
                boolean last = p + 4096 >= in.length;
                if (last) {
                    d.finish();
                    while (!d.finished()) {
                        int n = d.deflate(buf, 0, buf.length, Deflater.NO_FLUSH);
                        out.write(buf, 0, n);
                    }
                } else {
                    int n;
                    do {
                        n = d.deflate(buf, 0, buf.length, Deflater.FULL_FLUSH);
                        out.write(buf, 0, n);
                    } while (n == buf.length);
                }
                if (out.size() > in.length) return null;
            }
            return out.toByteArray();
        } finally {
            d.end();
        }
    }

    // ---------------------------------------------------------------- allocation status

    @Override
    public Allocation allocationStatus(long offset, long length) throws IOException {
        var s = blockStatus(offset, length);
        Allocation.Kind kind;
        if (!s.present()) kind = Allocation.Kind.UNALLOCATED;
        else if (s.zero() && !s.data()) kind = Allocation.Kind.ZERO;
        else if (s.depth() == 0) kind = Allocation.Kind.DATA;
        else kind = Allocation.Kind.BACKING;
        if (s.zero() && s.depth() == 0 && s.present()) kind = Allocation.Kind.ZERO;
        return new Allocation(s.offset(), s.length(), kind, s.depth());
    }

    /** Status of the extent starting at offset (at most length bytes), the way qemu-img map sees it. */
    public BlockStatus blockStatus(long offset, long length) throws IOException {
        checkRange(offset, 0, size);
        length = Math.min(length, size - offset);
        if (length <= 0) return new BlockStatus(offset, 0, 0, false, true, false, -1);
        lock.readLock().lock();
        try {
            BlockStatus first = null;
            long pos = offset;
            long end = offset + length;
            while (pos < end) {
                int inCl = (int) (pos & (clusterSize - 1));
                long n = Math.min(end - pos, clusterSize - inCl);
                long e = entry(l1, pos >>> clusterBits);
                BlockStatus s = switch (L2Entry.type(e, v3)) {
                    case NORMAL -> new BlockStatus(pos, n, 0, true, false, true, dataOffset(e) + inCl);
                    case COMPRESSED -> new BlockStatus(pos, n, 0, true, false, true, -1);
                    case ZERO_PLAIN -> new BlockStatus(pos, n, 0, true, true, false, -1);
                    case ZERO_ALLOC -> new BlockStatus(pos, n, 0, true, true, false, dataOffset(e) + inCl);
                    case UNALLOCATED -> backingStatus(pos, n);
                };
                if (first == null) {
                    first = s;
                } else if (first.continuedBy(s)) {
                    first = first.extend(s.length());
                } else {
                    break;
                }
                if (s.length() < n) break;
                pos += n;
            }
            return first;
        } finally {
            lock.readLock().unlock();
        }
    }

    private BlockStatus backingStatus(long pos, long n) throws IOException {
        if (backing == null) return new BlockStatus(pos, n, 0, false, true, false, -1);
        if (pos >= backing.size()) return new BlockStatus(pos, n, 1, false, true, false, -1);
        var s = BlockStatus.of(backing, pos, Math.min(n, backing.size() - pos));
        return new BlockStatus(pos, s.length(), s.depth() + 1, s.present(), s.zero(), s.data(), s.hostOffset());
    }

    // ---------------------------------------------------------------- resize

    /** Changes the virtual size; shrinking drops the data past the new end and needs no snapshots. */
    public void resize(long newSize) throws IOException {
        checkWritable();
        if (newSize < 0 || newSize > maxSize(clusterBits)) {
            throw new Qcow2Exception(file.name() + ": size " + newSize + " is beyond the qcow2 limit for this cluster size");
        }
        lock.writeLock().lock();
        try {
            if (newSize < size) {
                if (!snapshots.isEmpty()) throw new Qcow2Exception(file.name() + ": can't shrink an image which has snapshots");
                long tail = roundUp(newSize);
                if (tail > newSize) clearRange(newSize, Math.min(tail, size) - newSize, false);
                if (tail < roundUp(size)) clearRangeFull(tail, roundUp(size) - tail);
            }
            int need = l1EntriesFor(newSize, clusterBits);
            if (need > l1.length) growL1(need, true);
            size = newSize;
            header.size = newSize;
            file.writeLong(Qcow2Header.OFF_SIZE, newSize);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Deallocates whole clusters outright (no zero flag), for shrinking and the vm-state area. */
    private void clearRangeFull(long offset, long length) throws IOException {
        for (long pos = offset; pos < offset + length; pos += clusterSize) {
            long vcl = pos >>> clusterBits;
            if (entry(l1, vcl) == 0) continue;
            var ref = l2ForWrite(vcl >>> l2Bits);
            int idx = (int) (vcl & (l2Entries - 1));
            long e = ref.table()[idx];
            setL2(ref, idx, 0);
            release(e);
        }
    }

    /** Drops every cluster of the active disk so that it reads from the backing file again (after commit). */
    public void makeEmpty() throws IOException {
        checkWritable();
        lock.writeLock().lock();
        try {
            clearRangeFull(0, roundUp(size));
        } finally {
            lock.writeLock().unlock();
        }
    }

    // ---------------------------------------------------------------- internal snapshots

    public List<Snapshot> snapshots() {
        lock.readLock().lock();
        try {
            return List.copyOf(snapshots);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Guest offset where the vm-state area starts: the first L2 range past the disk end (as QEMU). */
    public long vmStateOffset() {
        long perL2 = 1L << (clusterBits + l2Bits);
        return (long) l1EntriesFor(size, clusterBits) * perL2;
    }

    /**
     * A stream over the active vm-state area: for savevm open it with readableSize 0 and write;
     * for loadvm apply the snapshot first and open it with the snapshot's vm-state size.
     */
    public VmStateChannel vmStateChannel(long readableSize) {
        return new VmStateChannel(this, readableSize);
    }

    /** Writes machine state into the active vm-state area (before {@link #createSnapshot}). */
    public void writeVmState(long pos, ByteBuffer src) throws IOException {
        checkWritable();
        long base = vmStateOffset();
        checkRange(pos, src.remaining(), maxSize(clusterBits) - base);
        writeAt(base + pos, src);
    }

    /** Reads the active vm-state area (after {@link #applySnapshot} it holds the snapshot's state). */
    public void readVmState(long pos, ByteBuffer dst) throws IOException {
        long base = vmStateOffset();
        checkRange(pos, dst.remaining(), maxSize(clusterBits) - base);
        lock.readLock().lock();
        try {
            readAt(l1, base + pos, dst);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Reads the vm-state of a snapshot directly from its L1 table, without applying it. */
    public void readSnapshotVmState(String idOrName, long pos, ByteBuffer dst) throws IOException {
        lock.readLock().lock();
        try {
            var sn = find(idOrName);
            checkRange(pos, dst.remaining(), sn.vmStateSize());
            long perL2 = 1L << (clusterBits + l2Bits);
            long base = (long) l1EntriesFor(sn.diskSize(), clusterBits) * perL2;
            long[] sl1 = snapshotL1(sn);
            readAt(sl1, base + pos, dst);
        } finally {
            lock.readLock().unlock();
        }
    }

    public Snapshot findSnapshot(String idOrName) throws Qcow2Exception {
        lock.readLock().lock();
        try {
            return find(idOrName);
        } finally {
            lock.readLock().unlock();
        }
    }

    private long[] snapshotL1(Snapshot sn) throws IOException {
        String bad = snapshotL1Problem(sn, file.length());
        if (bad != null) throw refuse(bad);
        return sn.l1Size() == 0 ? new long[0] : readL1(sn.l1Offset(), sn.l1Size(), "L1 table of snapshot " + sn.id());
    }

    private Snapshot find(String idOrName) throws Qcow2Exception {
        for (var s : snapshots) if (s.id().equals(idOrName)) return s;
        for (var s : snapshots) if (s.name().equals(idOrName)) return s;
        throw new Qcow2Exception(file.name() + ": snapshot '" + idOrName + "' not found");
    }

    /**
     * Takes an internal snapshot of the current disk; vmStateSize bytes written with
     * {@link #writeVmState} beforehand become the snapshot's machine state.
     */
    public Snapshot createSnapshot(String name, long vmStateSize, long vmClockNs) throws IOException {
        checkWritable();
        lock.writeLock().lock();
        try {
            for (var s : snapshots) {
                if (s.name().equals(name)) throw new Qcow2Exception(file.name() + ": a snapshot named '" + name + "' already exists");
            }
            if (snapshots.size() >= Qcow2Header.MAX_SNAPSHOTS) throw new Qcow2Exception(file.name() + ": too many snapshots");
            long max = 0;
            for (var s : snapshots) {
                try {
                    max = Math.max(max, Long.parseLong(s.id()));
                } catch (NumberFormatException ignored) {
                    // QEMU ids are numbers; others are kept but don't take part in numbering.
                }
            }
            String id = Long.toString(max + 1);
            checkUpdatable(l1, l1Offset, "active L1 table");
            long copyOff = 0;
            if (l1.length > 0) {
                int clusters = (int) (roundUp(8L * l1.length) >>> clusterBits);
                copyOff = refs.allocate(clusters);
                long[] copy = l1.clone();
                for (int i = 0; i < copy.length; i++) copy[i] &= ~L2Entry.COPIED;
                var b = ByteBuffer.allocate(clusters * clusterSize);
                for (long v : copy) b.putLong(v);
                file.write(copyOff, b.array());
            }
            addTreeRefs(l1, 1);
            updateCopiedFlags();
            var now = Instant.now();
            var sn = new Snapshot(copyOff, l1.length, id, name, now.getEpochSecond(), now.getNano(), vmClockNs,
                    vmStateSize, size, 0, null);
            var list = new ArrayList<>(snapshots);
            list.add(sn);
            writeSnapshotTable(list);
            if (vmStateSize > 0) {
                // The state now lives in the snapshot; keeping it active would only cost copy-on-write.
                clearRangeFull(vmStateOffset(), roundUp(vmStateSize));
            }
            return sn;
        } finally {
            lock.writeLock().unlock();
        }
    }

    static final long L1_RESERVED = 0x7f00_0000_0000_01ffL;
    static final long L2_RESERVED = 0x3f00_0000_0000_01feL;

    /**
     * Refuses a snapshot operation on tables it would copy or rewrite that are already damaged:
     * reserved bits set, misaligned or out-of-file offsets (copying them on would spread the
     * damage into the snapshot, or write refcounts through a bad refcount table). Under the lock.
     */
    private void checkUpdatable(long[] l1t, long l1Off, String what) throws IOException {
        long fileLen = file.length();
        for (int i = 0; i < refs.table().length; i++) {
            long raw = refs.rawEntry(i);
            if ((raw & 0x1ff) != 0) {
                throw refuse("refcount table entry " + i + " (at offset 0x" + Long.toHexString(refs.tableOffset() + 8L * i)
                        + ") has reserved bits set: 0x" + Long.toHexString(raw));
            }
        }
        for (int i = 0; i < l1t.length; i++) {
            long e = l1t[i];
            String entry = what + " entry " + i + " (at offset 0x" + Long.toHexString(l1Off + 8L * i) + ")";
            if ((e & L1_RESERVED) != 0) throw refuse(entry + " has reserved bits set: 0x" + Long.toHexString(e));
            long off = e & L2Entry.OFFSET_MASK;
            if (off == 0) continue;
            if ((off & (clusterSize - 1)) != 0 || off + clusterSize > roundUp(fileLen)) {
                throw refuse(entry + " points to L2 table offset 0x" + Long.toHexString(off)
                        + ", which is not a cluster of the file");
            }
            if (refs.get(off >>> clusterBits) == 0) {
                throw refuse(entry + " points to the L2 table at offset 0x" + Long.toHexString(off) + ", whose refcount is 0");
            }
            long[] t = l2Table(off);
            for (int j = 0; j < t.length; j++) {
                long x = t[j];
                String l2e = "L2 table at offset 0x" + Long.toHexString(off) + " entry " + j + " (at offset 0x"
                        + Long.toHexString(off + 8L * j) + ")";
                if ((x & L2Entry.COMPRESSED) != 0) {
                    if ((x & L2Entry.COPIED) != 0) throw refuse(l2e + " is compressed and has the COPIED flag set: 0x" + Long.toHexString(x));
                    continue;
                }
                if ((x & L2_RESERVED) != 0) throw refuse(l2e + " has reserved bits set: 0x" + Long.toHexString(x));
                long host = L2Entry.offset(x);
                if ((host & (clusterSize - 1)) != 0) {
                    throw refuse(l2e + " points to unaligned data offset 0x" + Long.toHexString(host));
                }
                if (host != 0 && refs.get(host >>> clusterBits) == 0) {
                    throw refuse(l2e + " points to the data cluster at offset 0x" + Long.toHexString(host) + ", whose refcount is 0");
                }
            }
        }
    }

    private Qcow2Exception refuse(String why) {
        return new Qcow2Exception(file.name() + ": the image is damaged: " + why + "; 'jhv-img check' lists what is wrong");
    }

    /** Reverts the disk to a snapshot. */
    public void applySnapshot(String idOrName) throws IOException {
        checkWritable();
        lock.writeLock().lock();
        try {
            var sn = find(idOrName);
            long[] sl1 = snapshotL1(sn);
            checkUpdatable(l1, l1Offset, "active L1 table");
            checkUpdatable(sl1, sn.l1Offset(), "L1 table of snapshot " + sn.id());
            if (sl1.length > l1.length) growL1(sl1.length, true);
            addTreeRefs(sl1, 1);
            long[] old = l1.clone();
            long[] nl = new long[l1.length];
            System.arraycopy(sl1, 0, nl, 0, sl1.length);
            file.write(l1Offset, encode(nl));
            l1 = nl;
            addTreeRefs(old, -1);
            l2cache.clear();
            updateCopiedFlags();
            if (sn.diskSize() != size) {
                size = sn.diskSize();
                header.size = size;
                file.writeLong(Qcow2Header.OFF_SIZE, size);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    public void deleteSnapshot(String idOrName) throws IOException {
        checkWritable();
        lock.writeLock().lock();
        try {
            var sn = find(idOrName);
            long[] sl1 = snapshotL1(sn);
            checkUpdatable(l1, l1Offset, "active L1 table");
            checkUpdatable(sl1, sn.l1Offset(), "L1 table of snapshot " + sn.id());
            var list = new ArrayList<>(snapshots);
            list.remove(sn);
            writeSnapshotTable(list);
            addTreeRefs(sl1, -1);
            if (sn.l1Size() > 0) refs.addRange(sn.l1Offset(), 8L * sn.l1Size(), -1);
            l2cache.clear();
            updateCopiedFlags();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void writeSnapshotTable(List<Snapshot> list) throws IOException {
        long oldOff = header.snapshotsOffset;
        long oldLen = snapshots.isEmpty() ? 0 : snapshotTableLength;
        byte[] data = SnapshotTable.encode(list);
        long off = 0;
        if (!list.isEmpty()) {
            off = refs.allocate((int) (roundUp(data.length) >>> clusterBits));
            file.write(off, data);
        }
        file.write(Qcow2Header.OFF_SNAPSHOTS, ByteBuffer.allocate(12).putInt(list.size()).putLong(off).flip());
        header.nbSnapshots = list.size();
        header.snapshotsOffset = off;
        snapshots = list;
        snapshotTableLength = data.length;
        snapshotProblems = List.of();
        if (oldLen > 0) refs.addRange(oldOff, oldLen, -1);
    }

    /** Adds delta to the refcount of every L2 table and data cluster reached from an L1 table. */
    private void addTreeRefs(long[] l1t, int delta) throws IOException {
        for (long l1e : l1t) {
            long off = l1e & L2Entry.OFFSET_MASK;
            if (off == 0) continue;
            long[] t = l2Table(off);
            for (long e : t) {
                switch (L2Entry.type(e, v3)) {
                    case NORMAL, ZERO_ALLOC -> refs.add(dataOffset(e) >>> clusterBits, delta);
                    case COMPRESSED -> refs.addRange(L2Entry.compressedOffset(e, clusterBits),
                            L2Entry.compressedSize(e, clusterBits), delta);
                    default -> { }
                }
            }
            refs.add(off >>> clusterBits, delta);
        }
    }

    /** Sets the COPIED flag of active L1/L2 entries exactly where the refcount is 1. */
    private void updateCopiedFlags() throws IOException {
        for (int i = 0; i < l1.length; i++) {
            long off = l1[i] & L2Entry.OFFSET_MASK;
            if (off == 0) continue;
            boolean own = refs.get(off >>> clusterBits) == 1;
            long want = own ? (l1[i] | L2Entry.COPIED) : (l1[i] & ~L2Entry.COPIED);
            if (want != l1[i]) setL1(i, want);
            long[] t = l2Table(off);
            boolean changed = false;
            for (int j = 0; j < t.length; j++) {
                long e = t[j];
                var type = L2Entry.type(e, v3);
                if (type != L2Entry.Type.NORMAL && type != L2Entry.Type.ZERO_ALLOC) continue;
                boolean single = refs.get(L2Entry.offset(e) >>> clusterBits) == 1;
                long w = single ? (e | L2Entry.COPIED) : (e & ~L2Entry.COPIED);
                if (w != e) {
                    t[j] = w;
                    changed = true;
                }
            }
            if (changed) file.write(off, encode(t));
        }
    }

    // ---------------------------------------------------------------- check, header rewrite, close

    /** Checks the refcounts and flags like qemu-img check; repairs what repair asks for. */
    public CheckResult check(ImageChecker.Repair repair) throws IOException {
        if (repair != ImageChecker.Repair.NONE) checkWritable();
        lock.writeLock().lock();
        try {
            if (!readOnly) refs.releaseReserve();
            return new ImageChecker(this).check(repair);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Points the image at another backing file (rebase -u); null removes it. Rewrites the header cluster. */
    public void setBackingFile(String name, String format) throws IOException {
        checkWritable();
        lock.writeLock().lock();
        try {
            header.backingFile = name;
            header.backingFormat = name == null ? null : format;
            // Fields the driver updates in place on disk; the header object must carry them too.
            header.refcountTableOffset = refs.tableOffset();
            header.refcountTableClusters = refs.tableClusters();
            header.l1Size = l1.length;
            header.l1TableOffset = l1Offset;
            header.size = size;
            byte[] hdr = header.encode(header.featureNames.isEmpty() ? false : true);
            var b = ByteBuffer.allocate(clusterSize);
            b.put(hdr);
            file.write(0, b.array());
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** The highest byte referenced by the refcounts: the image's end offset. */
    public long fileLength() throws IOException {
        return file.length();
    }

    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        try {
            if (!readOnly) {
                refs.releaseReserve();
                file.flush();
                if (markedDirty) {
                    setIncompatible(header.incompatible & ~Features.INCOMPAT_DIRTY);
                    file.flush();
                }
            }
        } finally {
            try {
                if (backing != null) backing.close();
            } finally {
                file.close();
            }
        }
    }
}
