package dev.jhv.virtio.blk;

import dev.jhv.core.block.AsyncBlockIo;
import dev.jhv.core.block.BlockDevice;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** An engine that only records what it was asked; the test completes each request when it wants. */
final class ManualBlockIo implements AsyncBlockIo {
    record Op(String kind, long offset, Completion done) {
        void complete() {
            done.completed(null);
        }
    }

    private final BlockDevice device;
    final List<Op> ops = new ArrayList<>();

    ManualBlockIo(BlockDevice device) {
        this.device = device;
    }

    synchronized List<String> kinds() {
        return ops.stream().map(Op::kind).toList();
    }

    synchronized Op take(String kind) {
        for (var it = ops.iterator(); it.hasNext(); ) {
            Op o = it.next();
            if (o.kind().equals(kind)) {
                it.remove();
                return o;
            }
        }
        throw new AssertionError("no " + kind + " was submitted: " + kinds());
    }

    private synchronized void add(String kind, long offset, Completion done) {
        ops.add(new Op(kind, offset, done));
    }

    @Override
    public BlockDevice device() {
        return device;
    }

    @Override
    public void read(long offset, List<MemorySegment> buffers, Completion done) {
        add("read", offset, done);
    }

    @Override
    public void write(long offset, List<MemorySegment> buffers, Completion done) {
        add("write", offset, done);
    }

    @Override
    public void writeZeroes(long offset, long length, Completion done) {
        add("write-zeroes", offset, done);
    }

    @Override
    public void discard(long offset, long length, Completion done) {
        add("discard", offset, done);
    }

    @Override
    public void flush(Completion done) {
        add("flush", 0, done);
    }

    @Override
    public String engineName() {
        return "manual";
    }

    @Override
    public void close() {
    }

    static IOException failure() {
        return new IOException("injected failure");
    }
}
