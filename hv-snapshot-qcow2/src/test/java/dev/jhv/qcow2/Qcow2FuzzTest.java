package dev.jhv.qcow2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random-mutation fuzzing of the header and metadata parser over a corpus of small valid
 * images (bounded iterations, deterministic), plus hand-made corruptions with exact messages.
 */
class Qcow2FuzzTest {
    @TempDir
    Path tmp;

    @Test
    void mutatedImagesOnlyEverFailWithQcow2Exception() throws Exception {
        var rnd = new Random(Long.getLong("fuzz.seed", 0x5eed));
        var corpus = FuzzHarness.corpus();
        for (byte[] seed : corpus) FuzzHarness.exercise(seed.clone(), tmp);
        for (int i = 0; i < 1500; i++) {
            byte[] d = corpus.get(rnd.nextInt(corpus.size())).clone();
            int muts = 1 + rnd.nextInt(4);
            for (int m = 0; m < muts; m++) {
                // Mostly hit the metadata near the start, sometimes anywhere.
                int pos = rnd.nextInt(rnd.nextInt(4) == 0 ? d.length : Math.min(d.length, 600));
                switch (rnd.nextInt(6)) {
                    case 0 -> d[pos] ^= (byte) (1 << rnd.nextInt(8));
                    case 1 -> d[pos] = (byte) new int[] {0, 0xff, 0x7f, 0x80, 1}[rnd.nextInt(5)];
                    case 2 -> {
                        if (pos + 8 <= d.length) ByteBuffer.wrap(d).putLong(pos, new long[] {-1L, Long.MAX_VALUE, 1L << 40,
                                0x200, 0, 1L << 62 | 0x400}[rnd.nextInt(6)]);
                    }
                    case 3 -> {
                        if (pos + 4 <= d.length) ByteBuffer.wrap(d).putInt(pos & ~3, rnd.nextInt());
                    }
                    case 4 -> d = java.util.Arrays.copyOf(d, Math.max(1, pos));
                    default -> d[pos] = (byte) rnd.nextInt();
                }
            }
            try {
                FuzzHarness.exercise(d, tmp);
            } catch (Qcow2Exception ok) {
                // fine
            } catch (Throwable t) {
                Path keep = Path.of("target", "fuzz-failure-" + i + ".qcow2");
                Files.createDirectories(keep.getParent());
                Files.write(keep, d);
                throw new AssertionError("iteration " + i + " escaped with " + t + " (input kept in " + keep + ")", t);
            }
        }
    }

    private Path seed(String name) throws Exception {
        Path p = tmp.resolve(name + ".qcow2");
        Files.write(p, FuzzHarness.corpus().get(FuzzHarness.SEEDS.indexOf(name)));
        return p;
    }

    private static void patchLong(Path p, int off, long v) throws Exception {
        byte[] d = Files.readAllBytes(p);
        ByteBuffer.wrap(d).putLong(off, v);
        Files.write(p, d);
    }

    @Test
    void unknownIncompatibleFeatureIsRefusedByName() throws Exception {
        Path p = seed("c512");
        patchLong(p, 72, 1L << 9);
        assertThatThrownBy(() -> Qcow2Image.open(p, true)).isInstanceOf(Qcow2Exception.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("unsupported qcow2 feature").hasMessageContaining("bit 9");
    }

    @Test
    void headerPointingOutsideTheFileIsRefused() throws Exception {
        Path p = seed("c512");
        patchLong(p, 40, 1L << 40); // L1 table offset
        assertThatThrownBy(() -> Qcow2Image.open(p, true)).isInstanceOf(Qcow2Exception.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("outside the file");
    }

    @Test
    void overlappingMetadataIsRefusedForWritingAndReportedByCheck() throws Exception {
        Path p = seed("c512");
        byte[] d = Files.readAllBytes(p);
        long reftable = ByteBuffer.wrap(d).getLong(48);
        patchLong(p, 40, reftable); // L1 table on top of the refcount table
        assertThatThrownBy(() -> Qcow2Image.open(p, false)).isInstanceOf(Qcow2Exception.class)
                .hasMessageContaining("overlap").hasMessageContaining("L1 table (offset 0x" + Long.toHexString(reftable));
        // read-only, as qemu-img: it opens, and the check counts the cluster both use
        try (var img = Qcow2Image.open(p, true)) {
            assertThat(img.check(ImageChecker.Repair.NONE).corruptions()).isPositive();
        }
    }

    @Test
    void sizeBeyondTheFormatIsRefused() throws Exception {
        Path p = seed("c512");
        patchLong(p, 24, 1L << 61);
        assertThatThrownBy(() -> Qcow2Image.open(p, true)).isInstanceOf(Qcow2Exception.class)
                .hasMessageContaining("exceeds the maximum");
    }

    @Test
    void openingACorruptImageDoesNotChangeIt() throws Exception {
        Path p = seed("snap");
        byte[] d = Files.readAllBytes(p);
        ByteBuffer.wrap(d).putLong(d.length - 64, 0x7777777777777777L);
        Files.write(p, d);
        try (var img = Qcow2Image.open(p, true)) {
            img.check(ImageChecker.Repair.NONE);
        } catch (Qcow2Exception ignored) {
            // either way
        }
        assertThat(Files.readAllBytes(p)).isEqualTo(d);
    }
}
