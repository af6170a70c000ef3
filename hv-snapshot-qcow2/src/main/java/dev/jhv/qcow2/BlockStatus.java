package dev.jhv.qcow2;

import dev.jhv.core.block.BlockDevice;
import java.io.IOException;

/**
 * Where a range of a disk comes from, with qemu-img map's fields.
 *
 * @param depth backing level the data comes from (0: this image)
 * @param present allocated somewhere in the chain
 * @param zero reads as zeroes
 * @param data backed by data in a file
 * @param hostOffset offset in the file holding the data, or -1
 */
public record BlockStatus(long offset, long length, int depth, boolean present, boolean zero, boolean data,
        long hostOffset) {

    /** Status of any block device: qcow2 knows its own; others (raw) say data or zero (a hole), at the same offset. */
    public static BlockStatus of(BlockDevice dev, long offset, long length) throws IOException {
        if (dev instanceof Qcow2Image q) return q.blockStatus(offset, length);
        var a = dev.allocationStatus(offset, length);
        boolean zero = a.kind() == BlockDevice.Allocation.Kind.ZERO;
        return new BlockStatus(offset, a.length(), 0, true, zero, !zero, offset);
    }

    boolean continuedBy(BlockStatus s) {
        return s.offset == offset + length && s.depth == depth && s.present == present && s.zero == zero
                && s.data == data && (hostOffset < 0 ? s.hostOffset < 0 : s.hostOffset == hostOffset + length);
    }

    BlockStatus extend(long more) {
        return new BlockStatus(offset, length + more, depth, present, zero, data, hostOffset);
    }
}
