package dev.jhv.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jhv.qcow2.tool.JhvImg;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damages real qemu-made images at their metadata (L1, L2, refcount table and blocks, snapshot
 * table and its header fields) with a fixed seed, and asserts that {@code jhv-img check} and
 * {@code qemu-img check} agree on each: clean (0), corrupt (2), leaks only (3), or cannot check (1).
 */
@Tag("qemu")
class CheckAgreementFuzzTest {
    @TempDir
    Path tmp;

    private final List<Base> bases = new ArrayList<>();

    /** A base image's bytes and where its metadata lives. */
    record Base(String name, byte[] data, MetaMap map) {}

    @BeforeEach
    void bases() throws Exception {
        Qemu.assumeQemuImg();
        bases.add(base("v3-64k", "cluster_size=64k", 2));
        bases.add(base("v3-4k", "cluster_size=4k", 1));
        bases.add(base("v2-64k", "compat=0.10", 1));
        bases.add(base("v3-4k-rc8", "cluster_size=4k,refcount_bits=8", 2));
    }

    private Base base(String name, String opts, int snapshots) throws Exception {
        Path p = tmp.resolve(name + ".qcow2");
        Qemu.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", opts, p.toString(), "6M");
        Qemu.ok("qemu-io", "-c", "write -P 0x11 0 128k", "-c", "write -P 0x22 3M 64k", "-c", "write -z 5M 64k", p.toString());
        for (int s = 1; s <= snapshots; s++) {
            Qemu.ok("qemu-img", "snapshot", "-c", "s" + s, p.toString());
            Qemu.ok("qemu-io", "-c", "write -P 0x3" + s + " " + (s * 64) + "k 64k", p.toString());
        }
        Qemu.assertClean(p);
        byte[] d = Files.readAllBytes(p);
        return new Base(name, d, MetaMap.of(d));
    }

    @Test
    void jhvCheckAgreesWithQemuImgOnDamagedImages() throws Exception {
        assertAgreement(200, 0xC4EC4L);
    }

    @Test
    @Tag("slow")
    void jhvCheckAgreesWithQemuImgOnManyDamagedImages() throws Exception {
        assertAgreement(2000, 0x5104L);
    }

    private void assertAgreement(int count, long seed) throws Exception {
        var rnd = new Random(seed);
        var disagreements = new ArrayList<String>();
        int[] seen = new int[4];
        Path f = tmp.resolve("damaged.qcow2");
        for (int i = 0; i < count; i++) {
            Base b = bases.get(rnd.nextInt(bases.size()));
            byte[] d = b.data().clone();
            String what = Damage.apply(d, b.map(), rnd);
            Files.write(f, d);
            int q = qemuCheck(f);
            var j = jhvCheck(f);
            seen[outcome(q)]++;
            if (outcome(q) != outcome(j.exit())) {
                Path keep = tmp.resolve("disagreement-" + i + ".qcow2");
                Files.write(keep, d);
                disagreements.add("#" + i + " " + b.name() + ": " + what + ": qemu-img " + q + ", jhv-img " + j.exit()
                        + "\n" + j.text().indent(4));
            }
        }
        assertThat(disagreements).as("images where the checks disagree").isEmpty();
        // The damage must reach every outcome, or the test proves little.
        assertThat(java.util.Arrays.stream(seen).boxed().toList()).as("clean, cannot check, corrupt, leaks").allMatch(n -> n > 0);
    }

    /** 0 clean, 1 cannot open or check, 2 corruptions, 3 leaks only. */
    private static int outcome(int exit) {
        return exit == 0 || exit == 2 || exit == 3 ? exit : 1;
    }

    private static int qemuCheck(Path f) throws Exception {
        return Qemu.run("qemu-img", "check", f.toString()).exit();
    }

    record Run(int exit, String text) {}

    private static Run jhvCheck(Path f) {
        var o = new ByteArrayOutputStream();
        var ps = new PrintStream(o, true, StandardCharsets.UTF_8);
        int rc = JhvImg.run(new String[] {"check", f.toString()}, ps, ps);
        String text = o.toString(StandardCharsets.UTF_8);
        return new Run(rc, text.length() > 2000 ? text.substring(0, 2000) + "..." : text);
    }

    /** Offsets of an image's metadata, read with a parser independent of the driver's. */
    record MetaMap(int clusterSize, int refcountBits, long l1Offset, int l1Size, long reftableOffset,
            int reftableEntries, int nbSnapshots, long snapshotsOffset, int snapshotTableLength,
            List<Long> l2Tables, List<Long> snapshotL1s, List<Long> refblocks) {
        static MetaMap of(byte[] d) {
            var b = ByteBuffer.wrap(d);
            int cs = 1 << b.getInt(20);
            int version = b.getInt(4);
            int rbits = version == 3 ? 1 << b.getInt(96) : 16;
            int l1Size = b.getInt(36);
            long l1 = b.getLong(40);
            long rt = b.getLong(48);
            int rtEntries = b.getInt(56) * cs / 8;
            int nb = b.getInt(60);
            long so = b.getLong(64);
            var l2 = new ArrayList<Long>();
            var snapL1 = new ArrayList<Long>();
            var addL2s = (java.util.function.BiConsumer<Long, Integer>) (off, n) -> {
                for (int i = 0; i < n; i++) {
                    long e = b.getLong((int) (off + 8L * i)) & 0x00fffffffffffe00L;
                    if (e != 0 && !l2.contains(e)) l2.add(e);
                }
            };
            addL2s.accept(l1, l1Size);
            int p = (int) so;
            for (int s = 0; s < nb; s++) {
                long sl1 = b.getLong(p);
                int sl1Size = b.getInt(p + 8);
                snapL1.add(sl1);
                addL2s.accept(sl1, sl1Size);
                int len = 40 + b.getInt(p + 36) + (b.getShort(p + 12) & 0xffff) + (b.getShort(p + 14) & 0xffff);
                p += (len + 7) & ~7;
            }
            var blocks = new ArrayList<Long>();
            for (int i = 0; i < rtEntries; i++) {
                long e = b.getLong((int) (rt + 8L * i));
                if (e != 0) blocks.add(e);
            }
            return new MetaMap(cs, rbits, l1, l1Size, rt, rtEntries, nb, so, (int) (p - so), List.copyOf(l2),
                    List.copyOf(snapL1), List.copyOf(blocks));
        }
    }

    /** One random damage at one metadata place; returns what it did, for the report. */
    static final class Damage {
        private static final long[] ENTRY_VALUES = {0, -1L, 1, 2, 0x100, 1L << 56, 1L << 62, 1L << 63, 0x200,
                0x00ff_ffff_ffff_fe00L, 1L << 40, 0x3f00_0000_0000_01feL};

        static String apply(byte[] d, MetaMap m, Random rnd) {
            var b = ByteBuffer.wrap(d);
            return switch (rnd.nextInt(10)) {
                case 0 -> entry(b, "L1 entry", m.l1Offset(), m.l1Size(), rnd);
                case 1, 2 -> {
                    long t = m.l2Tables().get(rnd.nextInt(m.l2Tables().size()));
                    yield entry(b, "L2 table 0x" + Long.toHexString(t) + " entry", t, usedEntries(b, t, m.clusterSize()), rnd);
                }
                case 3 -> {
                    int s = rnd.nextInt(m.snapshotL1s().size());
                    yield entry(b, "snapshot " + s + " L1 entry", m.snapshotL1s().get(s), m.l1Size(), rnd);
                }
                case 4 -> entry(b, "refcount table entry", m.reftableOffset(), Math.min(4, m.reftableEntries()), rnd);
                case 5 -> refblock(b, m, rnd);
                case 6, 7 -> snapshotTable(b, m, rnd);
                case 8 -> {
                    int old = b.getInt(60);
                    int v = switch (rnd.nextInt(4)) {
                        case 0 -> old + 1;
                        case 1 -> old - 1;
                        case 2 -> old ^ (1 << rnd.nextInt(32));
                        default -> 0;
                    };
                    b.putInt(60, v);
                    yield "nb_snapshots " + old + " -> " + v;
                }
                default -> {
                    long old = b.getLong(64);
                    long v = rnd.nextBoolean() ? old ^ (1L << rnd.nextInt(64))
                            : new long[] {0, m.clusterSize(), old + m.clusterSize(), old + 512, d.length}[rnd.nextInt(5)];
                    b.putLong(64, v);
                    yield "snapshots_offset 0x" + Long.toHexString(old) + " -> 0x" + Long.toHexString(v);
                }
            };
        }

        /** Entries worth damaging: those in use, plus one past them. */
        private static int usedEntries(ByteBuffer b, long table, int cs) {
            int last = 0;
            for (int i = 0; i < cs / 8; i++) if (b.getLong((int) (table + 8L * i)) != 0) last = i;
            return last + 2;
        }

        private static String entry(ByteBuffer b, String what, long table, int entries, Random rnd) {
            int i = rnd.nextInt(Math.max(1, entries));
            int at = (int) (table + 8L * i);
            long old = b.getLong(at);
            long v = switch (rnd.nextInt(3)) {
                case 0 -> old ^ (1L << rnd.nextInt(64));
                case 1 -> old | ENTRY_VALUES[rnd.nextInt(ENTRY_VALUES.length)];
                default -> ENTRY_VALUES[rnd.nextInt(ENTRY_VALUES.length)];
            };
            b.putLong(at, v);
            return what + " " + i + " at 0x" + Integer.toHexString(at) + ": " + Long.toHexString(old) + " -> " + Long.toHexString(v);
        }

        private static String refblock(ByteBuffer b, MetaMap m, Random rnd) {
            long blk = m.refblocks().get(rnd.nextInt(m.refblocks().size())) & ~0x1ffL;
            int clusters = (int) Math.min(b.capacity() / m.clusterSize() + 2, (long) m.clusterSize() * 8 / m.refcountBits());
            int c = rnd.nextInt(clusters);
            int bytes = Math.max(1, m.refcountBits() / 8);
            int at = (int) (blk + (long) c * bytes);
            int old = b.get(at + bytes - 1) & 0xff;
            int v = switch (rnd.nextInt(3)) {
                case 0 -> old + 1;
                case 1 -> Math.max(0, old - 1);
                default -> old ^ (1 << rnd.nextInt(8));
            };
            b.put(at + bytes - 1, (byte) v);
            return "refcount of cluster " + c + ": " + old + " -> " + (v & 0xff);
        }

        private static String snapshotTable(ByteBuffer b, MetaMap m, Random rnd) {
            int base = (int) m.snapshotsOffset();
            if (rnd.nextInt(5) == 0) {
                // past the last entry: garbage there must not matter
                int at = base + m.snapshotTableLength() + rnd.nextInt(64);
                b.put(at, (byte) (b.get(at) ^ (1 << rnd.nextInt(8))));
                return "snapshot table: byte past the end at 0x" + Integer.toHexString(at);
            }
            // a field of the first entry: l1 offset/size, id/name length, extra size, or any byte
            int[][] fields = {{0, 8}, {8, 4}, {12, 2}, {14, 2}, {32, 4}, {36, 4}};
            if (rnd.nextInt(3) == 0) {
                int at = base + rnd.nextInt(Math.max(1, m.snapshotTableLength()));
                int old = b.get(at) & 0xff;
                b.put(at, (byte) (old ^ (1 << rnd.nextInt(8))));
                return "snapshot table byte 0x" + Integer.toHexString(at - base) + ": " + old + " -> " + (b.get(at) & 0xff);
            }
            int[] fld = fields[rnd.nextInt(fields.length)];
            int at = base + fld[0];
            long old = fld[1] == 8 ? b.getLong(at) : fld[1] == 4 ? b.getInt(at) & 0xffffffffL : b.getShort(at) & 0xffff;
            long v = rnd.nextBoolean() ? old ^ (1L << rnd.nextInt(fld[1] * 8))
                    : new long[] {0, 1, 8, 16, 1024, 1025, 0xffff, old + 8, old + m.clusterSize()}[rnd.nextInt(9)];
            switch (fld[1]) {
                case 8 -> b.putLong(at, v);
                case 4 -> b.putInt(at, (int) v);
                default -> b.putShort(at, (short) v);
            }
            return "snapshot table field at +" + fld[0] + ": 0x" + Long.toHexString(old) + " -> 0x" + Long.toHexString(v & (fld[1] == 8 ? -1L : (1L << (fld[1] * 8)) - 1));
        }
    }
}
