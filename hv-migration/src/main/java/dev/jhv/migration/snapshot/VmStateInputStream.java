package dev.jhv.migration.snapshot;

import dev.jhv.qcow2.Qcow2Image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/** Reads a snapshot's vm-state (its recorded size, no more) as a stream. */
final class VmStateInputStream extends InputStream {
    private final Qcow2Image image;
    private final String snapshot;
    private final long size;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    private long pos;

    VmStateInputStream(Qcow2Image image, String snapshot, long size) {
        this.image = image;
        this.snapshot = snapshot;
        this.size = size;
        buf.limit(0);
    }

    private boolean fill() throws IOException {
        if (pos >= size) {
            return false;
        }
        buf.clear();
        buf.limit((int) Math.min(buf.capacity(), size - pos));
        image.readSnapshotVmState(snapshot, pos, buf);
        buf.flip();
        pos += buf.remaining();
        return buf.hasRemaining();
    }

    @Override
    public int read() throws IOException {
        if (!buf.hasRemaining() && !fill()) {
            return -1;
        }
        return buf.get() & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (!buf.hasRemaining() && !fill()) {
            return -1;
        }
        int n = Math.min(len, buf.remaining());
        buf.get(b, off, n);
        return n;
    }
}
