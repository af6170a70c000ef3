package dev.jhv.qcow2;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Feeds an arbitrary file to the qcow2 driver: open, read, status, check, snapshot reads, then a
 * read-write open with a write, discard and snapshot. Only {@link Qcow2Exception} may come out.
 */
final class FuzzHarness {
    private FuzzHarness() {}

    static final List<String> SEEDS = List.of("c512", "r1", "v2", "snap", "comp", "back", "lazy");

    static List<byte[]> corpus() {
        var out = new ArrayList<byte[]>();
        for (String s : SEEDS) {
            try (var in = FuzzHarness.class.getResourceAsStream("corpus/" + s + ".qcow2")) {
                out.add(in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    static void exercise(byte[] data, Path dir) throws IOException {
        Path f = dir.resolve("fuzz.qcow2");
        Files.write(f, data);
        try (var img = Qcow2Image.open(f, true)) {
            long size = img.size();
            var buf = ByteBuffer.allocate(65536);
            img.read(0, buf.limit((int) Math.min(65536, size)));
            if (size > 65536) img.read(size - 65536, buf.clear());
            for (long pos = 0, n = 0; pos < size && n < 64; n++) {
                var st = img.blockStatus(pos, size - pos);
                if (st.length() <= 0) break;
                pos += st.length();
            }
            img.check(ImageChecker.Repair.NONE);
            for (var s : img.snapshots()) {
                if (s.vmStateSize() > 0) img.readSnapshotVmState(s.id(), 0, ByteBuffer.allocate((int) Math.min(4096, s.vmStateSize())));
            }
        } catch (Qcow2Exception expected) {
            // the one permitted outcome for a bad image
        }
        try (var img = Qcow2Image.open(f, false)) {
            if (img.size() > 0) {
                img.write(0, ByteBuffer.wrap(new byte[(int) Math.min(img.size(), 1000)]));
                img.discard(0, Math.min(img.size(), 4096));
            }
            img.createSnapshot("fuzz", 0, 0);
            img.check(ImageChecker.Repair.NONE);
        } catch (Qcow2Exception expected) {
            // idem
        }
    }
}
