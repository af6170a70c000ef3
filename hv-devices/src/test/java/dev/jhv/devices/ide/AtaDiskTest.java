package dev.jhv.devices.ide;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class AtaDiskTest {
    static final long DISK_BYTES = 4L << 20; // 8192 sectors
    @TempDir
    Path dir;
    IdeRig rig;
    AtaDisk disk;

    @BeforeEach
    void setUp() throws IOException {
        rig = new IdeRig();
        disk = new AtaDisk(rig.open(IdeRig.image(dir, "disk.raw", DISK_BYTES, 512), false));
        rig.with(disk, null);
    }

    @AfterEach
    void tearDown() throws IOException {
        rig.close();
    }

    private static int word(byte[] id, int w) {
        return (id[2 * w] & 0xff) | (id[2 * w + 1] & 0xff) << 8;
    }

    private static String string(byte[] id, int word, int chars) {
        var sb = new StringBuilder();
        for (int i = 0; i < chars; i++) {
            sb.append((char) id[2 * word + (i ^ 1)]);
        }
        return sb.toString().trim();
    }

    private void assertSectors(byte[] data, long lba) {
        for (int i = 0; i < data.length; i++) {
            if (data[i] != IdeRig.expected(lba * 512 + i, 512)) {
                throw new AssertionError("byte " + i + " of the data read from LBA " + lba + " differs");
            }
        }
    }

    @Test
    void identifyDescribesTheDisk() {
        rig.select(0);
        rig.out(7, Ata.IDENTIFY_DEVICE);
        assertThat(rig.irq.level()).isTrue();
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC | Ata.DRQ);
        assertThat(rig.irq.level()).as("reading status acknowledges INTRQ").isFalse();
        byte[] id = rig.readData(512);
        assertThat(rig.status() & Ata.DRQ).isZero();
        assertThat(word(id, 0)).isEqualTo(0x0040);
        assertThat(word(id, 60) | word(id, 61) << 16).isEqualTo(8192);
        long lba48 = word(id, 100) | (long) word(id, 101) << 16 | (long) word(id, 102) << 32
                | (long) word(id, 103) << 48;
        assertThat(lba48).isEqualTo(8192);
        assertThat(word(id, 83) & (1 << 10)).as("48-bit feature set").isNotZero();
        assertThat(word(id, 86) & (1 << 10)).isNotZero();
        assertThat(word(id, 49) & (1 << 9 | 1 << 8)).as("LBA and DMA").isEqualTo(1 << 9 | 1 << 8);
        assertThat(word(id, 47) & 0xff).isEqualTo(16);
        assertThat(word(id, 88) & 0x3f).isEqualTo(0x3f);
        // ATA strings: the first character of each pair in the high byte
        assertThat(id[55]).as("word 27's high byte").isEqualTo((byte) 'J');
        assertThat(id[54]).isEqualTo((byte) 'H');
        assertThat(string(id, 27, 40)).isEqualTo("JHV HARDDISK");
        assertThat(string(id, 10, 20)).isEqualTo("JHV00001");
        assertThat(word(id, 1) * word(id, 3) * word(id, 6)).isEqualTo(8 * 16 * 63);
    }

    @Test
    void readsSectorsInLba28WithAnInterruptPerSector() {
        rig.lba28(0, 100, 3, Ata.READ_SECTORS);
        for (int s = 0; s < 3; s++) {
            assertThat(rig.irq.level()).as("interrupt before sector %d", s).isTrue();
            assertThat(rig.status() & (Ata.DRQ | Ata.ERR | Ata.BSY)).isEqualTo(Ata.DRQ);
            assertSectors(rig.readData(512), 100 + s);
        }
        assertThat(rig.irq.level()).as("no interrupt after the last data-in block").isFalse();
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        assertThat(rig.irq.risingEdges()).isEqualTo(3);
    }

    @Test
    void readsWithDwordAccesses() {
        rig.lba28(0, 5, 1, Ata.READ_SECTORS);
        rig.status();
        byte[] b = new byte[512];
        for (int i = 0; i < 512; i += 4) {
            int v = (int) rig.channel.commandBlock().read(0, 4);
            ByteBuffer.wrap(b, i, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(v);
        }
        assertSectors(b, 5);
        assertThat(rig.status() & Ata.DRQ).isZero();
    }

    @Test
    void readsInLba48BeyondTheLba28RegistersView() {
        rig.lba48(0, 8190, 2, Ata.READ_SECTORS_EXT);
        rig.status();
        assertSectors(rig.readData(512), 8190);
        rig.status();
        assertSectors(rig.readData(512), 8191);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
    }

    @Test
    void lba48HighOrderBytesCountAndHobReadsThemBack() {
        rig.lba48(0, 1L << 32 | 5, 1, Ata.READ_SECTORS_EXT);
        assertThat(rig.status() & (Ata.ERR | Ata.DRQ)).isEqualTo(Ata.ERR);
        assertThat(rig.in(1)).isEqualTo(Ata.IDNF | Ata.ABRT);
        rig.control(Ata.HOB);
        assertThat(rig.in(4)).as("HOB LBA mid: bits 32-39").isEqualTo(1);
        rig.control(0);
        assertThat(rig.in(3)).isEqualTo(5);
    }

    @Test
    void readsInChsAddressing() {
        // CHS 1/2/3 with 16 heads, 63 sectors: LBA (1 * 16 + 2) * 63 + 2
        long lba = (1 * 16 + 2) * 63 + 2;
        rig.out(6, 0xa0 | 2);
        rig.out(2, 1);
        rig.out(3, 3);
        rig.out(4, 1);
        rig.out(5, 0);
        rig.out(7, Ata.READ_SECTORS);
        rig.status();
        assertSectors(rig.readData(512), lba);
    }

    @Test
    void chsFollowsInitializeDeviceParameters() {
        rig.out(6, 0xa0 | 3);   // 4 heads
        rig.out(2, 32);         // 32 sectors per track
        rig.out(7, Ata.INITIALIZE_DEVICE_PARAMETERS);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        rig.out(6, 0xa0 | 1);
        rig.out(2, 1);
        rig.out(3, 1);
        rig.out(4, 2);
        rig.out(5, 0);
        rig.out(7, Ata.READ_SECTORS);
        rig.status();
        assertSectors(rig.readData(512), (2 * 4 + 1) * 32);
    }

    @Test
    void chsSectorZeroDoesNotExist() {
        rig.out(6, 0xa0);
        rig.out(2, 1);
        rig.out(3, 0);
        rig.out(4, 0);
        rig.out(5, 0);
        rig.out(7, Ata.READ_SECTORS);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC | Ata.ERR);
        assertThat(rig.in(1) & Ata.IDNF).isNotZero();
    }

    @Test
    void writesSectorsAndTheFileHasThem() throws IOException {
        byte[] a = new byte[512];
        byte[] b = new byte[512];
        java.util.Arrays.fill(a, (byte) 0x5a);
        java.util.Arrays.fill(b, (byte) 0xa5);
        rig.lba28(0, 42, 2, Ata.WRITE_SECTORS);
        assertThat(rig.irq.level()).as("no interrupt before the first data-out block").isFalse();
        assertThat(rig.altStatus() & Ata.DRQ).isNotZero();
        rig.writeData(a);
        assertThat(rig.irq.level()).isTrue();
        assertThat(rig.status() & Ata.DRQ).isNotZero();
        rig.writeData(b);
        assertThat(rig.irq.level()).as("completion interrupt").isTrue();
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);

        var back = ByteBuffer.allocate(1024);
        disk.blockDevice().orElseThrow().read(42 * 512, back);
        assertThat(java.util.Arrays.copyOfRange(back.array(), 0, 512)).isEqualTo(a);
        assertThat(java.util.Arrays.copyOfRange(back.array(), 512, 1024)).isEqualTo(b);
    }

    @Test
    void writesInLba48() throws IOException {
        byte[] a = new byte[512];
        java.util.Arrays.fill(a, (byte) 0x33);
        rig.lba48(0, 8191, 1, Ata.WRITE_SECTORS_EXT);
        rig.writeData(a);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        var back = ByteBuffer.allocate(512);
        disk.blockDevice().orElseThrow().read(8191 * 512, back);
        assertThat(back.array()).isEqualTo(a);
    }

    @Test
    void readMultipleMovesBlocksOfTheSetSize() {
        rig.out(6, 0xe0);
        rig.out(2, 4);
        rig.out(7, Ata.SET_MULTIPLE_MODE);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        rig.lba28(0, 10, 10, Ata.READ_MULTIPLE);
        int[] blocks = {4, 4, 2};
        long lba = 10;
        for (int n : blocks) {
            assertThat(rig.irq.level()).isTrue();
            rig.status();
            assertSectors(rig.readData(n * 512), lba);
            lba += n;
        }
        assertThat(rig.irq.risingEdges()).as("one interrupt per block").isEqualTo(3 + 1);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
    }

    @Test
    void writeMultipleTakesBlocksOfTheSetSize() throws IOException {
        rig.out(2, 2);
        rig.out(7, Ata.SET_MULTIPLE_MODE);
        rig.status();
        byte[] data = new byte[3 * 512];
        new java.util.Random(1).nextBytes(data);
        rig.lba28(0, 7, 3, Ata.WRITE_MULTIPLE);
        rig.writeData(java.util.Arrays.copyOf(data, 1024));
        assertThat(rig.status() & Ata.DRQ).isNotZero();
        rig.writeData(java.util.Arrays.copyOfRange(data, 1024, 1536));
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        var back = ByteBuffer.allocate(1536);
        disk.blockDevice().orElseThrow().read(7 * 512, back);
        assertThat(back.array()).isEqualTo(data);
    }

    @Test
    void setMultipleRefusesWhatIsNotAPowerOfTwoUpToSixteen() {
        rig.out(2, 3);
        rig.out(7, Ata.SET_MULTIPLE_MODE);
        assertThat(rig.status() & Ata.ERR).isNotZero();
        assertThat(rig.in(1)).isEqualTo(Ata.ABRT);
        rig.out(2, 32);
        rig.out(7, Ata.SET_MULTIPLE_MODE);
        assertThat(rig.status() & Ata.ERR).isNotZero();
    }

    @Test
    void outOfRangeEndsWithIdnfAndAbrt() {
        rig.lba28(0, 8191, 2, Ata.READ_SECTORS);
        assertThat(rig.irq.level()).isTrue();
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC | Ata.ERR);
        assertThat(rig.in(1)).isEqualTo(Ata.IDNF | Ata.ABRT);
        rig.lba28(0, 9000, 1, Ata.WRITE_SECTORS);
        assertThat(rig.status() & (Ata.ERR | Ata.DRQ)).isEqualTo(Ata.ERR);
        rig.lba28(0, 8192, 1, Ata.READ_VERIFY);
        assertThat(rig.in(1)).isEqualTo(Ata.IDNF | Ata.ABRT);
        rig.lba28(0, 8191, 1, Ata.READ_VERIFY);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
    }

    @Test
    void aReadOnlyDiskAbortsWrites() throws IOException {
        var ro = new IdeRig();
        try {
            ro.with(new AtaDisk(ro.open(IdeRig.image(dir, "ro.raw", 65536, 512), true)), null);
            ro.lba28(0, 0, 1, Ata.WRITE_SECTORS);
            assertThat(ro.status()).isEqualTo(Ata.DRDY | Ata.DSC | Ata.ERR);
            assertThat(ro.in(1)).isEqualTo(Ata.ABRT);
            ro.lba28(0, 0, 1, Ata.WRITE_DMA);
            assertThat(ro.in(1)).isEqualTo(Ata.ABRT);
        } finally {
            ro.close();
        }
    }

    @Test
    void nonDataCommandsCompleteWithAnInterrupt() {
        int[] ok = {Ata.FLUSH_CACHE, Ata.FLUSH_CACHE_EXT, Ata.IDLE_IMMEDIATE, Ata.STANDBY_IMMEDIATE,
                Ata.RECALIBRATE, Ata.SEEK, Ata.CHECK_POWER_MODE};
        for (int cmd : ok) {
            int edges = rig.irq.risingEdges();
            rig.out(7, cmd);
            assertThat(rig.irq.risingEdges()).as("command 0x%x", cmd).isEqualTo(edges + 1);
            assertThat(rig.status()).as("command 0x%x", cmd).isEqualTo(Ata.DRDY | Ata.DSC);
        }
        assertThat(rig.in(2)).as("CHECK POWER MODE: active").isEqualTo(0xff);
        rig.out(7, 0xff); // no such command
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC | Ata.ERR);
        assertThat(rig.in(1)).isEqualTo(Ata.ABRT);
    }

    @Test
    void setFeaturesTransferModeShowsInIdentify() {
        rig.out(1, Ata.SF_SET_TRANSFER_MODE);
        rig.out(2, 0x22); // multiword DMA 2
        rig.out(7, Ata.SET_FEATURES);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        rig.out(1, Ata.SF_SET_TRANSFER_MODE);
        rig.out(2, 0x47); // no UDMA 7
        rig.out(7, Ata.SET_FEATURES);
        assertThat(rig.status() & Ata.ERR).isNotZero();
        rig.out(1, Ata.SF_DISABLE_WRITE_CACHE);
        rig.out(7, Ata.SET_FEATURES);
        rig.status();
        rig.out(7, Ata.IDENTIFY_DEVICE);
        rig.status();
        byte[] id = rig.readData(512);
        assertThat(word(id, 63)).isEqualTo(0x07 | 1 << 10);
        assertThat(word(id, 88)).isEqualTo(0x3f);
        assertThat(word(id, 85) & (1 << 5)).as("write cache off").isZero();
    }

    @Test
    void nienHoldsTheLineLowAndReleasesAPendingInterrupt() {
        rig.control(Ata.NIEN);
        rig.out(7, Ata.FLUSH_CACHE);
        assertThat(rig.irq.level()).isFalse();
        rig.control(0);
        assertThat(rig.irq.level()).as("still pending: status not read").isTrue();
        rig.altStatus();
        assertThat(rig.irq.level()).as("alternate status does not acknowledge").isTrue();
        rig.control(Ata.NIEN);
        assertThat(rig.irq.level()).isFalse();
        rig.control(0);
        rig.status();
        assertThat(rig.irq.level()).isFalse();
    }

    /** A disk whose reads and writes fail as a broken host file would. */
    private static final class FailingDisk implements dev.jhv.core.block.BlockDevice {
        public long size() { return 1 << 20; }
        public boolean isReadOnly() { return false; }
        public void read(long offset, ByteBuffer dst) throws IOException { throw new IOException("EIO"); }
        public void write(long offset, ByteBuffer src) throws IOException { throw new IOException("EIO"); }
        public void writeZeroes(long offset, long length) { }
        public void discard(long offset, long length) { }
        public void flush() throws IOException { throw new IOException("EIO"); }
        public Allocation allocationStatus(long offset, long length) {
            return new Allocation(offset, length, Allocation.Kind.DATA, 0);
        }
        public String describe() { return "failing"; }
        public void close() { }
    }

    @Test
    void blockLayerErrorsEndCommandsWithUncOrAbrt() throws IOException {
        var bad = new IdeRig();
        try {
            bad.with(new AtaDisk(new FailingDisk()), null);
            bad.lba28(0, 3, 1, Ata.READ_SECTORS);
            assertThat(bad.irq.level()).isTrue();
            assertThat(bad.status()).isEqualTo(Ata.DRDY | Ata.DSC | Ata.ERR);
            assertThat(bad.in(1)).isEqualTo(Ata.UNC | Ata.ABRT);
            assertThat(bad.in(3)).as("the failing sector").isEqualTo(3);
            bad.lba28(0, 3, 1, Ata.WRITE_SECTORS);
            bad.writeData(new byte[512]);
            assertThat(bad.status()).isEqualTo(Ata.DRDY | Ata.DSC | Ata.ERR);
            assertThat(bad.in(1)).isEqualTo(Ata.ABRT);
            bad.out(7, Ata.FLUSH_CACHE);
            assertThat(bad.in(1)).isEqualTo(Ata.ABRT);
            bad.prd(0x1000, IdeRig.entry(0x2000, 512, true));
            bad.bm.write(4, 4, 0x1000);
            bad.bm.write(0, 1, BusMasterDma.CMD_START | BusMasterDma.CMD_WRITE_TO_MEMORY);
            bad.lba28(0, 3, 1, Ata.READ_DMA);
            assertThat(bad.status()).isEqualTo(Ata.DRDY | Ata.DSC | Ata.ERR);
            assertThat(bad.in(1)).isEqualTo(Ata.UNC | Ata.ABRT);
            assertThat(bad.bm.read(2, 1) & BusMasterDma.STATUS_ACTIVE).isZero();
        } finally {
            bad.close();
        }
    }
}
