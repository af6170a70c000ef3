package dev.jhv.migration.stream;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.CRC32C;

/**
 * CRC32C over each section (header and body) and over the JSON description as they are written (the reader's side is
 * {@link dev.jhv.core.vmstate.VMStateInput#checksum()}), so that one flipped byte anywhere is
 * refused even where every value would be valid (jhv's addition to QEMU's footer).
 */
final class Checksum {
    private Checksum() {
    }

    /** Counts what passes through into a CRC that the stream code resets per section. */
    static final class Out extends FilterOutputStream {
        private final CRC32C crc = new CRC32C();

        Out(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            crc.update(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            crc.update(b, off, len);
        }

        void reset() {
            crc.reset();
        }

        int value() {
            return (int) crc.getValue();
        }
    }
}
