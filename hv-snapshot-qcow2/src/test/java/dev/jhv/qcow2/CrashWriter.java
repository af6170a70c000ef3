package dev.jhv.qcow2;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;

/** Child process of the crash test: writes forever, printing a line after every operation. */
public final class CrashWriter {
    private CrashWriter() {}

    public static void main(String[] args) throws Exception {
        Path p = Path.of(args[0]);
        var rnd = new Random(Long.parseLong(args[1]));
        try (var img = Qcow2Image.open(p, false)) {
            long size = img.size();
            // A snapshot taken before the kill phase makes later writes copy-on-write shared clusters.
            for (int i = 0; i < 30; i++) {
                byte[] d = new byte[1 + rnd.nextInt(3 * img.clusterSize())];
                rnd.nextBytes(d);
                img.write((long) (rnd.nextDouble() * (size - d.length)), ByteBuffer.wrap(d));
            }
            img.createSnapshot("base", 0, 0);
            System.out.println("ready");
            System.out.flush();
            for (long i = 0; ; i++) {
                int len = 1 + rnd.nextInt(3 * img.clusterSize());
                long off = (long) (rnd.nextDouble() * (size - len));
                // Snapshot operations are left out: like QEMU's, they are not atomic against a kill
                // (refcounts and COPIED flags change in separate writes).
                switch (rnd.nextInt(10)) {
                    case 0 -> img.discard(off, len);
                    case 1 -> img.writeZeroes(off, len);
                    default -> {
                        byte[] d = new byte[len];
                        rnd.nextBytes(d);
                        img.write(off, ByteBuffer.wrap(d));
                    }
                }
                System.out.println("op " + i);
                System.out.flush();
            }
        }
    }
}
