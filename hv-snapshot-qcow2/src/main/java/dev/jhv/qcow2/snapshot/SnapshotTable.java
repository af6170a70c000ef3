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

    /**
     * The table as read: its entries, its length in bytes, and what is wrong with entries that can
     * still be read (qemu-img check counts those as corruptions but opens the image).
     */
    public record Parsed(List<Snapshot> snapshots, long length, List<String> problems) {}

    /**
     * Reads the table; bytes past the end of the file read as zeroes, as qemu reads them. Only what
     * makes the table unreadable is refused here (too many entries, a misaligned table, too much
     * extra data); entries pointing to bad places are the caller's to judge.
     */
    public static Parsed read(ImageFile f, Qcow2Header h) throws IOException {
        var list = new ArrayList<Snapshot>();
        var problems = new ArrayList<String>();
        int n = h.nbSnapshots;
        if (n == 0) return new Parsed(list, 0, problems);
        if (n < 0 || n > Qcow2Header.MAX_SNAPSHOTS) {
            throw new Qcow2Exception(f.name() + ": snapshot table too large (" + Integer.toUnsignedString(n) + " snapshots)");
        }
        long off = h.snapshotsOffset;
        if (off < 0 || (off & (h.clusterSize() - 1)) != 0) {
            throw new Qcow2Exception(f.name() + ": snapshot table offset 0x" + Long.toHexString(off) + " is invalid");
        }
        long p = 0;
        for (int i = 0; i < n; i++) {
            var b = padded(f, off + p, 40);
            long l1 = b.getLong(0);
            int l1Size = b.getInt(8);
            int idLen = b.getShort(12) & 0xffff;
            int nameLen = b.getShort(14) & 0xffff;
            long dateSec = b.getInt(16) & 0xffffffffL;
            long dateNsec = b.getInt(20) & 0xffffffffL;
            long clock = b.getLong(24);
            long vmState = b.getInt(32) & 0xffffffffL;
            long extraLen = b.getInt(36) & 0xffffffffL;
            if (extraLen > 1024) {
                throw new Qcow2Exception(f.name() + ": snapshot table entry " + i + " at offset 0x" + Long.toHexString(off + p)
                        + " has too much extra data (" + extraLen + " bytes)");
            }
            var rest = padded(f, off + p + 40, (int) extraLen + idLen + nameLen);
            var extra = new byte[(int) extraLen];
            rest.get(0, extra);
            var xb = ByteBuffer.wrap(extra);
            long diskSize = h.size;
            long icount = 0;
            if (extraLen >= 8) vmState = xb.getLong(0);
            if (extraLen >= 16) diskSize = xb.getLong(8);
            if (extraLen >= 24) icount = xb.getLong(16);
            // Version 3 makes the large vm-state size and the disk size mandatory.
            if (h.version >= 3 && extraLen < 16) {
                problems.add("snapshot table entry " + i + " at offset 0x" + Long.toHexString(off + p)
                        + " is incomplete (" + extraLen + " bytes of extra data, version 3 needs 16)");
            }
            String id = new String(extra(rest, (int) extraLen, idLen), StandardCharsets.UTF_8);
            String name = new String(extra(rest, (int) extraLen + idLen, nameLen), StandardCharsets.UTF_8);
            list.add(new Snapshot(l1, l1Size, id, name, dateSec, dateNsec, clock, vmState, diskSize, icount, extra));
            p = (p + 40 + extraLen + idLen + nameLen + 7) & ~7L;
            if (p > MAX_TABLE_BYTES) throw new Qcow2Exception(f.name() + ": snapshot table too large (" + p + " bytes)");
        }
        return new Parsed(list, p, problems);
    }

    private static ByteBuffer padded(ImageFile f, long at, int len) throws IOException {
        var b = ByteBuffer.allocate(len);
        f.readPadded(at, b);
        return b.clear();
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
