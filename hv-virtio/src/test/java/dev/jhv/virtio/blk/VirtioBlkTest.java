package dev.jhv.virtio.blk;

import dev.jhv.core.block.Drive;
import dev.jhv.core.block.RawFileBlockDevice;
import dev.jhv.devices.board.DriveSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What the transport reads of the device: features, configuration space, queues, state. */
class VirtioBlkTest {
    private static final long SECTORS = 20480; // 10 MiB

    @TempDir
    Path dir;
    private int images;

    private VirtioBlk device(boolean readOnly, int queues, DriveSpec.Cache cache) throws IOException {
        Path p = dir.resolve("disk-" + images++ + ".img");
        Files.write(p, new byte[(int) (SECTORS * 512)]);
        var dev = new RawFileBlockDevice(p, readOnly);
        return new VirtioBlk(new Drive("virtio0", p, "raw", readOnly, dev), "S1", queues, cache,
                new ManualBlockIo(dev));
    }

    @Test
    void featuresAsQemuOffersThem() throws IOException {
        VirtioBlk one = device(false, 1, DriveSpec.Cache.WRITEBACK);
        assertThat(one.deviceType()).isEqualTo(2);
        assertThat(one.deviceFeatures()).isEqualTo(VirtioBlk.F_SEG_MAX | VirtioBlk.F_GEOMETRY | VirtioBlk.F_BLK_SIZE
                | VirtioBlk.F_FLUSH | VirtioBlk.F_TOPOLOGY | VirtioBlk.F_CONFIG_WCE | VirtioBlk.F_DISCARD
                | VirtioBlk.F_WRITE_ZEROES);
        VirtioBlk ro = device(true, 4, DriveSpec.Cache.WRITEBACK);
        assertThat(ro.deviceFeatures() & VirtioBlk.F_RO).isNotZero();
        assertThat(ro.deviceFeatures() & (VirtioBlk.F_DISCARD | VirtioBlk.F_WRITE_ZEROES)).isZero();
        assertThat(ro.deviceFeatures() & VirtioBlk.F_MQ).isNotZero();
        assertThat(ro.queueCount()).isEqualTo(4);
        assertThat(ro.queueMaxSize(3)).isEqualTo(256);
    }

    @Test
    void configurationSpace() throws IOException {
        VirtioBlk d = device(false, 2, DriveSpec.Cache.WRITEBACK);
        assertThat(d.configLength()).isEqualTo(60);
        long capacity = Integer.toUnsignedLong(d.readConfig(0, 4)) | (long) d.readConfig(4, 4) << 32;
        assertThat(capacity).isEqualTo(SECTORS);
        assertThat(d.readConfig(12, 4)).as("seg_max").isEqualTo(254);
        assertThat(d.readConfig(16, 2)).as("cylinders").isEqualTo((int) (SECTORS / (16 * 63)));
        assertThat(d.readConfig(18, 1)).as("heads").isEqualTo(16);
        assertThat(d.readConfig(19, 1)).as("sectors").isEqualTo(63);
        assertThat(d.readConfig(20, 4)).as("blk_size").isEqualTo(512);
        assertThat(d.readConfig(24, 4)).as("topology: exp, offset, min_io").isZero();
        assertThat(d.readConfig(32, 1)).as("writeback").isEqualTo(1);
        assertThat(d.readConfig(34, 2)).as("num_queues").isEqualTo(2);
        assertThat(d.readConfig(36, 4)).as("max_discard_sectors").isEqualTo(4194303);
        assertThat(d.readConfig(40, 4)).as("max_discard_seg").isEqualTo(1);
        assertThat(d.readConfig(44, 4)).as("discard_sector_alignment").isEqualTo(1);
        assertThat(d.readConfig(48, 4)).as("max_write_zeroes_sectors").isEqualTo(4194303);
        assertThat(d.readConfig(52, 4)).as("max_write_zeroes_seg").isEqualTo(1);
        assertThat(d.readConfig(56, 1)).as("write_zeroes_may_unmap").isEqualTo(1);
        assertThat(d.readConfig(200, 4)).as("beyond the space").isZero();
        d.writeConfig(0, 4, 0xdead);
        assertThat(d.readConfig(0, 4)).as("capacity is read-only").isEqualTo((int) SECTORS);
    }

    @Test
    void theWriteCacheFlagFollowsCacheModeAndTheDriverAndMigrates() throws IOException {
        assertThat(device(false, 1, DriveSpec.Cache.WRITETHROUGH).readConfig(32, 1)).isZero();
        assertThat(device(false, 1, DriveSpec.Cache.DIRECTSYNC).readConfig(32, 1)).isZero();
        assertThat(device(false, 1, DriveSpec.Cache.NONE).readConfig(32, 1)).isEqualTo(1);
        VirtioBlk d = device(false, 1, DriveSpec.Cache.WRITEBACK);
        d.writeConfig(32, 1, 0);
        assertThat(d.readConfig(32, 1)).isZero();
        assertThat(d.state()).isEqualTo(new VirtioBlk.State(false));
        byte[] saved = VirtioBlk.VMSTATE.save(d.state());
        VirtioBlk other = device(false, 1, DriveSpec.Cache.WRITEBACK);
        other.restore(VirtioBlk.VMSTATE.load(saved, 1, other.state()));
        assertThat(other.readConfig(32, 1)).isZero();
        other.reset();
        assertThat(other.readConfig(32, 1)).as("reset: back to the cache mode's").isEqualTo(1);
    }

    @Test
    void numQueuesIsChecked() {
        assertThatThrownBy(() -> device(false, 0, DriveSpec.Cache.WRITEBACK))
                .hasMessageContaining("num-queues");
    }
}
