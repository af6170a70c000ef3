package dev.jhv.qcow2.snapshot;

import dev.jhv.qcow2.Qcow2Exception;
import dev.jhv.qcow2.format.ImageFile;
import dev.jhv.qcow2.format.Qcow2Header;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Reads and writes the snapshot table: entries of 40 bytes, extra data, id, name, padded to 8. */
public final class SnapshotTable {
    private SnapshotTable() {}

    public static final int MAX_TABLE_BYTES = 64 << 20;
    static final int EXTRA_SIZE = 24;

    public static List<Snapshot> read(ImageFile f, Qcow2Header h, long fileLength) throws IOException {
        var list = new ArrayList<Snapshot>();
        int n = h.nbSnapshots;
        if (n == 0) return list;
        if (n < 0 || n > Qcow2Header.MAX_SNAPSHOTS) {
            throw new Qcow2Exception(f.name() + ": too many snapshots (" + Integer.toUnsignedString(n) + ")");
        }
        long off = h.snapshotsOffset;
        if (off <= 0 || (off & (h.clusterSize() - 1)) != 0 || off >= fileLength) {
            throw new Qcow2Exception(f.name() + ": snapshot table offset " + off + " is invalid");
        }
        int len = (int) Math.min(fileLength - off, MAX_TABLE_BYTES);
        var b = ByteBuffer.wrap(f.readMeta(off, len, "snapshot table"));
        int p = 0;
        for (int i = 0; i < n; i++) {
            if (p + 40 > len) throw new Qcow2Exception(f.name() + ": snapshot table is truncated");
            long l1 = b.getLong(p);
            int l1Size = b.getInt(p + 8);
            int idLen = b.getShort(p + 12) & 0xffff;
            int nameLen = b.getShort(p + 14) & 0xffff;
            long dateSec = b.getInt(p + 16) & 0xffffffffL;
            long dateNsec = b.getInt(p + 20) & 0xffffffffL;
            long clock = b.getLong(p + 24);
            long vmState = b.getInt(p + 32) & 0xffffffffL;
            long extraLen = b.getInt(p + 36) & 0xffffffffL;
            if (extraLen > 1024 || p + 40 + extraLen + idLen + nameLen > len) {
                throw new Qcow2Exception(f.name() + ": snapshot table entry " + i + " is too long");
            }
            var extra = new byte[(int) extraLen];
            b.get(p + 40, extra);
            var xb = ByteBuffer.wrap(extra);
            long diskSize = h.size;
            long icount = 0;
            if (extraLen >= 8) vmState = xb.getLong(0);
            if (extraLen >= 16) diskSize = xb.getLong(8);
            if (extraLen >= 24) icount = xb.getLong(16);
            int q = p + 40 + (int) extraLen;
            String id = new String(extra(b, q, idLen), StandardCharsets.UTF_8);
            String name = new String(extra(b, q + idLen, nameLen), StandardCharsets.UTF_8);
            if (l1Size < 0 || (long) l1Size * 8 > Qcow2Header.MAX_L1_BYTES) {
                throw new Qcow2Exception(f.name() + ": snapshot '" + name + "' has an invalid L1 size");
            }
            if (l1Size > 0 && (l1 <= 0 || (l1 & (h.clusterSize() - 1)) != 0 || l1 + 8L * l1Size > fileLength)) {
                throw new Qcow2Exception(f.name() + ": snapshot '" + name + "' has its L1 table outside the file");
            }
            if (vmState < 0 || diskSize < 0) {
                throw new Qcow2Exception(f.name() + ": snapshot '" + name + "' has invalid sizes");
            }
            list.add(new Snapshot(l1, l1Size, id, name, dateSec, dateNsec, clock, vmState, diskSize, icount, extra));
            p = (q + idLen + nameLen + 7) & ~7;
        }
        return list;
    }

    private static byte[] extra(ByteBuffer b, int at, int len) {
        byte[] out = new byte[len];
        b.get(at, out);
        return out;
    }

    public static byte[] encode(List<Snapshot> list) {
        int total = 0;
        for (var s : list) total += entrySize(s);
        var b = ByteBuffer.allocate(total);
        for (var s : list) {
            byte[] id = s.id().getBytes(StandardCharsets.UTF_8);
            byte[] name = s.name().getBytes(StandardCharsets.UTF_8);
            int start = b.position();
            byte[] extra = extraOf(s);
            b.putLong(s.l1Offset()).putInt(s.l1Size()).putShort((short) id.length).putShort((short) name.length)
                    .putInt((int) s.dateSec()).putInt((int) s.dateNsec()).putLong(s.vmClockNs())
                    .putInt(s.vmStateSize() > 0xffffffffL ? 0 : (int) s.vmStateSize()).putInt(extra.length)
                    .put(extra).put(id).put(name);
            b.position(start + entrySize(s));
        }
        return b.array();
    }

    private static byte[] extraOf(Snapshot s) {
        int len = Math.max(EXTRA_SIZE, s.extra() == null ? 0 : s.extra().length);
        var x = ByteBuffer.allocate(len);
        if (s.extra() != null) x.put(0, s.extra());
        x.putLong(0, s.vmStateSize()).putLong(8, s.diskSize()).putLong(16, s.icount());
        return x.array();
    }

    static int entrySize(Snapshot s) {
        int n = 40 + extraOf(s).length + s.id().getBytes(StandardCharsets.UTF_8).length
                + s.name().getBytes(StandardCharsets.UTF_8).length;
        return (n + 7) & ~7;
    }
}
