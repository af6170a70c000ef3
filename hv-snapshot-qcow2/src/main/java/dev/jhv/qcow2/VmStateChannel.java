package dev.jhv.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SeekableByteChannel;

/**
 * The active vm-state area of a qcow2 image as a byte stream, for savevm (write, then
 * {@link Qcow2Image#createSnapshot} with {@link #size()} as the vm-state size) and loadvm
 * ({@link Qcow2Image#applySnapshot}, then read up to the snapshot's vm-state size).
 */
public final class VmStateChannel implements SeekableByteChannel {
    private final Qcow2Image image;
    private long position;
    private long size;
    private boolean open = true;

    VmStateChannel(Qcow2Image image, long size) {
        this.image = image;
        this.size = size;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        ensureOpen();
        if (position >= size) return -1;
        int n = (int) Math.min(dst.remaining(), size - position);
        var slice = dst.slice(dst.position(), n);
        image.readVmState(position, slice);
        dst.position(dst.position() + n);
        position += n;
        return n;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        ensureOpen();
        int n = src.remaining();
        image.writeVmState(position, src);
        position += n;
        size = Math.max(size, position);
        return n;
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public SeekableByteChannel position(long newPosition) {
        if (newPosition < 0) throw new IllegalArgumentException("negative position");
        position = newPosition;
        return this;
    }

    /** Bytes written so far (or the readable size given when opened). */
    @Override
    public long size() {
        return size;
    }

    @Override
    public SeekableByteChannel truncate(long newSize) {
        size = Math.min(size, newSize);
        position = Math.min(position, size);
        return this;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        open = false;
    }

    private void ensureOpen() throws ClosedChannelException {
        if (!open) throw new ClosedChannelException();
    }
}
