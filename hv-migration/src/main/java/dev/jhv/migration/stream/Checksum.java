package dev.jhv.migration.stream;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.zip.CRC32C;

/**
 * CRC32C over each section (header and body) and over the JSON description, so that one flipped byte anywhere is
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

    static final class In extends FilterInputStream {
        private final CRC32C crc = new CRC32C();

        In(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                crc.update(b);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                crc.update(b, off, n);
            }
            return n;
        }

        @Override
        public long skip(long n) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        void reset0() {
            crc.reset();
        }

        int value() {
            return (int) crc.getValue();
        }
    }
}
