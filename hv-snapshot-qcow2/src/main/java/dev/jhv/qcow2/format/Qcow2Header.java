package dev.jhv.qcow2.format;

import dev.jhv.qcow2.Qcow2Exception;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The qcow2 header (docs/interop/qcow2.txt): fixed fields, header extensions, backing file name.
 * All fields are big-endian. Mutable: the driver updates it and rewrites parts in place.
 */
public final class Qcow2Header {
    public static final int MAGIC = 0x514649fb;
    public static final int V2_LENGTH = 72;
    public static final int V3_LENGTH = 112;
    /** Limits QEMU applies too: they bound the memory a hostile image can make us allocate. */
    public static final long MAX_L1_BYTES = 32L << 20;
    public static final long MAX_REFTABLE_BYTES = 8L << 20;
    public static final int MAX_SNAPSHOTS = 65536;
    public static final int MAX_BACKING_NAME = 1023;

    /** Field offsets for in-place updates. */
    public static final int OFF_SIZE = 24, OFF_L1 = 36, OFF_REFTABLE = 48, OFF_SNAPSHOTS = 60,
            OFF_INCOMPAT = 72, OFF_COMPAT = 80, OFF_AUTOCLEAR = 88;

    public int version;
    public long backingFileOffset;
    public int backingFileSize;
    public int clusterBits;
    public long size;
    public int cryptMethod;
    public int l1Size;
    public long l1TableOffset;
    public long refcountTableOffset;
    public int refcountTableClusters;
    public int nbSnapshots;
    public long snapshotsOffset;
    public long incompatible;
    public long compatible;
    public long autoclear;
    public int refcountOrder = 4;
    public int headerLength;
    public int compressionType;

    public String backingFile;
    public String backingFormat;
    /** Extensions we don't interpret, kept to be written back unchanged. */
    public final List<HeaderExtension> otherExtensions = new ArrayList<>();
    public final List<HeaderExtension.FeatureName> featureNames = new ArrayList<>();

    public int clusterSize() {
        return 1 << clusterBits;
    }

    public int refcountBits() {
        return 1 << refcountOrder;
    }

    public static Qcow2Header read(ImageFile f) throws IOException {
        String name = f.name();
        long fileLen = f.length();
        if (fileLen < V2_LENGTH) {
            throw new Qcow2Exception(name + ": file too short for a qcow2 header");
        }
        var b = ByteBuffer.wrap(f.readMeta(0, (int) Math.min(fileLen, 4096), "header"));
        var h = new Qcow2Header();
        if (b.getInt(0) != MAGIC) {
            throw new Qcow2Exception(name + ": not a qcow2 image (bad magic)");
        }
        h.version = b.getInt(4);
        if (h.version != 2 && h.version != 3) {
            throw new Qcow2Exception(name + ": unsupported qcow2 version " + h.version);
        }
        h.backingFileOffset = b.getLong(8);
        h.backingFileSize = b.getInt(16);
        h.clusterBits = b.getInt(20);
        if (h.clusterBits < 9 || h.clusterBits > 21) {
            throw new Qcow2Exception(name + ": invalid cluster size 2^" + Integer.toUnsignedString(h.clusterBits)
                    + " (must be 512 B to 2 MiB)");
        }
        int cs = h.clusterSize();
        h.size = b.getLong(24);
        h.cryptMethod = b.getInt(32);
        h.l1Size = b.getInt(36);
        h.l1TableOffset = b.getLong(40);
        h.refcountTableOffset = b.getLong(48);
        h.refcountTableClusters = b.getInt(56);
        h.nbSnapshots = b.getInt(60);
        h.snapshotsOffset = b.getLong(64);
        if (h.version == 3) {
            if (b.limit() < 104) throw new Qcow2Exception(name + ": truncated version 3 header");
            h.incompatible = b.getLong(72);
            h.compatible = b.getLong(80);
            h.autoclear = b.getLong(88);
            h.refcountOrder = b.getInt(96);
            h.headerLength = b.getInt(100);
            if (h.headerLength < 104 || h.headerLength > cs || h.headerLength > b.limit() || (h.headerLength & 7) != 0 && h.headerLength != 104) {
                throw new Qcow2Exception(name + ": invalid header length " + Integer.toUnsignedString(h.headerLength));
            }
            if (h.headerLength > 104) h.compressionType = b.get(104) & 0xff;
        } else {
            h.headerLength = V2_LENGTH;
            h.refcountOrder = 4;
        }
        if (h.refcountOrder < 0 || h.refcountOrder > 6) {
            throw new Qcow2Exception(name + ": invalid refcount order " + h.refcountOrder);
        }
        if (h.cryptMethod != 0) {
            throw new Qcow2Exception(name + ": encrypted images are not supported");
        }
        if (h.size < 0) {
            throw new Qcow2Exception(name + ": virtual size too large");
        }
        // Header extensions follow the header, up to the end of the first cluster or the backing name.
        long extEnd = h.backingFileOffset != 0 ? Math.min(h.backingFileOffset, cs) : cs;
        extEnd = Math.min(extEnd, b.limit());
        int p = h.headerLength;
        while (p + 8 <= extEnd) {
            int type = b.getInt(p);
            long len = Integer.toUnsignedLong(b.getInt(p + 4));
            p += 8;
            if (type == HeaderExtension.END) break;
            if (p + len > extEnd) {
                throw new Qcow2Exception(name + ": header extension 0x" + Integer.toHexString(type) + " runs past the header cluster");
            }
            byte[] data = new byte[(int) len];
            b.get(p, data);
            switch (type) {
                case HeaderExtension.BACKING_FORMAT -> h.backingFormat = new String(data, StandardCharsets.UTF_8);
                case HeaderExtension.FEATURE_NAME_TABLE -> {
                    for (int i = 0; i + 48 <= data.length; i += 48) {
                        int end = i + 2;
                        while (end < i + 48 && data[end] != 0) end++;
                        h.featureNames.add(new HeaderExtension.FeatureName(data[i] & 0xff, data[i + 1] & 0xff,
                                new String(data, i + 2, end - i - 2, StandardCharsets.UTF_8)));
                    }
                }
                default -> h.otherExtensions.add(new HeaderExtension(type, data));
            }
            p += (int) ((len + 7) & ~7L);
        }
        if (h.backingFileOffset != 0) {
            if (h.backingFileSize <= 0 || h.backingFileSize > MAX_BACKING_NAME
                    || h.backingFileOffset < 0 || h.backingFileOffset + h.backingFileSize > cs) {
                throw new Qcow2Exception(name + ": invalid backing file name location");
            }
            h.backingFile = new String(f.readMeta(h.backingFileOffset, h.backingFileSize, "backing file name"),
                    StandardCharsets.UTF_8);
        }
        return h;
    }

    /** Name of a feature bit, from the image's own feature table if it has one. */
    public String featureName(int type, int bit) {
        for (var fn : featureNames) {
            if (fn.type() == type && fn.bit() == bit) return fn.name();
        }
        return "bit " + bit;
    }

    /** The whole header cluster content: fixed header, extensions, backing name. */
    public byte[] encode(boolean withFeatureTable) throws Qcow2Exception {
        int cs = clusterSize();
        var b = ByteBuffer.allocate(Math.max(cs, 4096));
        headerLength = version == 3 ? V3_LENGTH : V2_LENGTH;
        b.putInt(0, MAGIC).putInt(4, version).putInt(20, clusterBits).putLong(24, size).putInt(32, cryptMethod)
                .putInt(36, l1Size).putLong(40, l1TableOffset).putLong(48, refcountTableOffset)
                .putInt(56, refcountTableClusters).putInt(60, nbSnapshots).putLong(64, snapshotsOffset);
        if (version == 3) {
            b.putLong(72, incompatible).putLong(80, compatible).putLong(88, autoclear)
                    .putInt(96, refcountOrder).putInt(100, headerLength).put(104, (byte) compressionType);
        }
        b.position(headerLength);
        if (backingFormat != null) putExt(b, HeaderExtension.BACKING_FORMAT, backingFormat.getBytes(StandardCharsets.UTF_8));
        for (var e : otherExtensions) putExt(b, e.type(), e.data());
        if (withFeatureTable) {
            var t = HeaderExtension.defaultFeatureTable();
            int needed = b.position() + 8 + t.length + 8 + (backingFile == null ? 0 : backingFile.length());
            if (needed <= cs) putExt(b, HeaderExtension.FEATURE_NAME_TABLE, t);
        }
        b.putInt(HeaderExtension.END).putInt(0);
        if (backingFile != null) {
            byte[] n = backingFile.getBytes(StandardCharsets.UTF_8);
            if (n.length > MAX_BACKING_NAME) throw new Qcow2Exception("backing file name too long: " + backingFile);
            backingFileOffset = b.position();
            backingFileSize = n.length;
            b.put(n);
        } else {
            backingFileOffset = 0;
            backingFileSize = 0;
        }
        if (b.position() > cs) {
            throw new Qcow2Exception("header, extensions and backing file name do not fit in one " + cs + "-byte cluster");
        }
        b.putLong(8, backingFileOffset).putInt(16, backingFileSize);
        byte[] out = new byte[b.position()];
        b.get(0, out);
        return out;
    }

    private static void putExt(ByteBuffer b, int type, byte[] data) throws Qcow2Exception {
        if (b.position() + 8 + data.length + 8 > b.capacity()) throw new Qcow2Exception("header extensions too large");
        b.putInt(type).putInt(data.length).put(data);
        while ((b.position() & 7) != 0) b.put((byte) 0);
    }
}
