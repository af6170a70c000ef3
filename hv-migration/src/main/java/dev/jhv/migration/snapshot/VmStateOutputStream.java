package dev.jhv.migration.snapshot;

import dev.jhv.qcow2.Qcow2Image;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/** Writes a stream into a qcow2 image's vm-state area, from offset 0, in large chunks. */
final class VmStateOutputStream extends OutputStream {
    private final Qcow2Image image;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    private long pos;

    VmStateOutputStream(Qcow2Image image) {
        this.image = image;
    }

    long size() {
        return pos + buf.position();
    }

    @Override
    public void write(int b) throws IOException {
        if (!buf.hasRemaining()) {
            drain();
        }
        buf.put((byte) b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            if (!buf.hasRemaining()) {
                drain();
            }
            int n = Math.min(len, buf.remaining());
            buf.put(b, off, n);
            off += n;
            len -= n;
        }
    }

    private void drain() throws IOException {
        buf.flip();
        int n = buf.remaining();
        image.writeVmState(pos, buf);
        pos += n;
        buf.clear();
    }

    @Override
    public void flush() throws IOException {
        if (buf.position() > 0) {
            drain();
        }
    }
}
