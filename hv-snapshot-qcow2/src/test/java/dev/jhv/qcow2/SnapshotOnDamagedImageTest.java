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
import java.util.function.Consumer;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jhv-img snapshot -c/-a/-d} on damaged images, against qemu-img 7.2 on the same bytes:
 * where qemu-img refuses, jhv-img refuses; where jhv-img goes ahead, the image it leaves is no
 * worse under {@code qemu-img check} than the one qemu-img leaves; a refusal names what is damaged.
 */
@Tag("qemu")
class SnapshotOnDamagedImageTest {
    @TempDir
    Path tmp;

    /** One kind of damage, made on a copy of the base image's bytes. */
    record Kind(String name, Consumer<ByteBuffer> damage) {}

    // Layout of the base image below (64 KiB clusters), as qemu-img 7.2 lays it out.
    private static final int REFTABLE = 0x10000, L1 = 0x30000;

    private static long l2Table(ByteBuffer b) {
        return b.getLong(L1) & 0x00ff_ffff_ffff_fe00L;
    }

    private static int snapshotTable(ByteBuffer b) {
        return (int) b.getLong(64);
    }

    static List<Kind> kinds() {
        return List.of(
                new Kind("L1 entry with a reserved bit", b -> b.putLong(L1, b.getLong(L1) | 0x100)),
                new Kind("L2 entry with a reserved bit", b -> b.putLong((int) l2Table(b), b.getLong((int) l2Table(b)) | 0x100)),
                new Kind("compressed L2 entry with COPIED", b -> b.putLong((int) l2Table(b) + 8, b.getLong((int) l2Table(b) + 8) | 3L << 62)),
                new Kind("refcount table entry with a reserved bit", b -> b.putLong(REFTABLE, b.getLong(REFTABLE) | 0x100)),
                new Kind("refcount table entry unaligned", b -> b.putLong(REFTABLE, b.getLong(REFTABLE) | 0x400)),
                new Kind("refcount table entry past the file", b -> b.putLong(REFTABLE, b.getLong(REFTABLE) | 1L << 56)),
                new Kind("refcount block lost its own refcount", b -> b.putShort((int) b.getLong(REFTABLE) + 4, (short) 0)),
                new Kind("refcount raised (leak)", b -> b.putShort((int) b.getLong(REFTABLE) + 2 * 4, (short) 3)),
                new Kind("L2 table refcount 0", b -> b.putShort((int) (b.getLong(REFTABLE) + 2 * (l2Table(b) >> 16)), (short) 0)),
                new Kind("nb_snapshots one too many", b -> b.putInt(60, b.getInt(60) + 1)),
                new Kind("nb_snapshots 0", b -> b.putInt(60, 0)),
                new Kind("snapshots_offset 0", b -> b.putLong(64, 0)),
                new Kind("snapshots_offset unaligned", b -> b.putLong(64, b.getLong(64) | 0x200)),
                new Kind("snapshot L1 offset unaligned", b -> b.putLong(snapshotTable(b), b.getLong(snapshotTable(b)) | 0x200)),
                new Kind("snapshot L1 past the file", b -> b.putLong(snapshotTable(b), b.getLong(snapshotTable(b)) | 1L << 40)),
                new Kind("snapshot entry incomplete", b -> b.putInt(snapshotTable(b) + 36, 0)),
                new Kind("snapshot entry with too much extra data", b -> b.putInt(snapshotTable(b) + 36, 1025)));
    }

    record Run(int exit, String text) {}

    private static Run jhv(String... args) {
        var o = new ByteArrayOutputStream();
        var ps = new PrintStream(o, true, StandardCharsets.UTF_8);
        int rc = JhvImg.run(args, ps, ps);
        return new Run(rc, o.toString(StandardCharsets.UTF_8));
    }

    /** qemu-img check's verdict ranked: 0 clean, 1 leaks only, 2 corrupt, 3 cannot be checked. */
    private static int verdict(Path p) throws Exception {
        return switch (Qemu.run("qemu-img", "check", p.toString()).exit()) {
            case 0 -> 0;
            case 3 -> 1;
            case 2 -> 2;
            default -> 3;
        };
    }

    @Test
    void snapshotVerbsOnDamagedImagesRefuseWhereQemuImgDoesAndNeverLeaveAWorseImage() throws Exception {
        Qemu.assumeQemuImg();
        Path base = tmp.resolve("base.qcow2");
        Qemu.ok("qemu-img", "create", "-q", "-f", "qcow2", base.toString(), "4M");
        Qemu.ok("qemu-io", "-c", "write -P 0x11 0 128k", "-c", "write -P 0x22 2M 64k", base.toString());
        Qemu.ok("qemu-img", "snapshot", "-c", "s1", base.toString());
        Qemu.ok("qemu-io", "-c", "write -P 0x33 0 64k", base.toString());
        Qemu.assertClean(base);
        byte[] clean = Files.readAllBytes(base);
        var soft = new SoftAssertions();
        var table = new ArrayList<String>();
        for (Kind k : kinds()) {
            byte[] d = clean.clone();
            k.damage().accept(ByteBuffer.wrap(d));
            for (String[] op : new String[][] {{"-c", "new"}, {"-a", "s1"}, {"-d", "s1"}}) {
                Path q = tmp.resolve("q.qcow2");
                Path j = tmp.resolve("j.qcow2");
                Files.write(q, d);
                Files.write(j, d);
                var qr = Qemu.run("qemu-img", "snapshot", op[0], op[1], q.toString());
                int qAfter = verdict(q);
                var jr = jhv("snapshot", op[0], op[1], j.toString());
                int jAfter = verdict(j);
                String line = k.name() + " / snapshot " + op[0] + ": qemu-img " + qr.exit() + " (then " + qAfter + "), jhv-img "
                        + jr.exit() + " (then " + jAfter + ") " + jr.text().strip();
                table.add(line);
                if (qr.exit() != 0) soft.assertThat(jr.exit()).as("refuses as qemu-img does: " + line).isNotZero();
                if (jr.exit() == 0) {
                    soft.assertThat(jAfter).as("left no worse than qemu-img leaves it: " + line).isLessThanOrEqualTo(qAfter);
                } else {
                    soft.assertThat(jr.text()).as("a refusal is one clear line: " + line).startsWith("jhv-img: ")
                            .doesNotContain("Exception").doesNotContain("dev.jhv").doesNotContain("java.");
                    // an image it refused to change is left as it was
                    soft.assertThat(Files.readAllBytes(j)).as("unchanged after a refusal: " + line).isEqualTo(d);
                }
            }
        }
        System.out.println(String.join("\n", table));
        soft.assertAll();
    }
}
