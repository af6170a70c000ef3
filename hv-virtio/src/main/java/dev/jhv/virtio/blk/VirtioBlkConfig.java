package dev.jhv.virtio.blk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The virtio-blk configuration space (virtio 1.2, 5.2.4, struct virtio_blk_config) with the values QEMU 7.2 gives
 * a virtio-blk-pci device by default: 512-byte blocks with no topology hints, seg_max two below the queue size, a
 * CHS geometry of 16 heads and 63 sectors, and discard and write-zeroes of up to 4194303 sectors (the largest
 * request QEMU's block layer takes) in one segment, write-zeroes allowed to unmap.
 */
final class VirtioBlkConfig {
    static final int LENGTH = 60;
    static final int WRITEBACK = 32;
    static final long MAX_SECTORS = (Integer.MAX_VALUE >> 9);

    private VirtioBlkConfig() {
    }

    /** The bytes of the configuration space, {@code writeback} as the driver sees it at offset 32. */
    static byte[] bytes(long capacitySectors, int queueSize, int numQueues, boolean writeback) {
        var b = ByteBuffer.allocate(LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, capacitySectors);
        b.putInt(8, 0);                         // size_max: not offered
        b.putInt(12, queueSize - 2);            // seg_max
        long cylinders = Math.clamp(capacitySectors / (16 * 63), 2, 16383);
        b.putShort(16, (short) cylinders);
        b.put(18, (byte) 16);                   // heads
        b.put(19, (byte) 63);                   // sectors per track
        b.putInt(20, BlkRequest.SECTOR);        // blk_size
        b.put(24, (byte) 0);                    // physical_block_exp
        b.put(25, (byte) 0);                    // alignment_offset
        b.putShort(26, (short) 0);              // min_io_size
        b.putInt(28, 0);                        // opt_io_size
        b.put(WRITEBACK, (byte) (writeback ? 1 : 0));
        b.putShort(34, (short) numQueues);
        b.putInt(36, (int) MAX_SECTORS);        // max_discard_sectors
        b.putInt(40, 1);                        // max_discard_seg
        b.putInt(44, 1);                        // discard_sector_alignment, in sectors
        b.putInt(48, (int) MAX_SECTORS);        // max_write_zeroes_sectors
        b.putInt(52, 1);                        // max_write_zeroes_seg
        b.put(56, (byte) 1);                    // write_zeroes_may_unmap
        return b.array();
    }
}
