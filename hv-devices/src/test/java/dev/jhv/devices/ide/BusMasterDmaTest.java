package dev.jhv.devices.ide;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import static dev.jhv.devices.ide.IdeRig.entry;
import static org.assertj.core.api.Assertions.assertThat;

class BusMasterDmaTest {
    static final long PRD = 0x1000;
    @TempDir
    Path dir;
    IdeRig rig;
    AtaDisk disk;

    @BeforeEach
    void setUp() throws IOException {
        rig = new IdeRig();
        disk = new AtaDisk(rig.open(IdeRig.image(dir, "disk.raw", 1 << 20, 512), false));
        rig.with(disk, null);
        rig.memory.startWriteTracking();
    }

    @AfterEach
    void tearDown() throws IOException {
        rig.close();
    }

    private void table(long at) {
        rig.bm.write(4, 4, at);
    }

    private void start(boolean toMemory) {
        rig.bm.write(0, 1, BusMasterDma.CMD_START | (toMemory ? BusMasterDma.CMD_WRITE_TO_MEMORY : 0));
    }

    private int bmStatus() {
        return (int) rig.bm.read(2, 1);
    }

    private boolean pageWritten(long gpa) {
        long[] bits = rig.memory.takeWritten(0);
        return (bits[(int) (gpa / 4096 / 64)] >>> (gpa / 4096 % 64) & 1) != 0;
    }

    @Test
    void readDmaFillsAMultiEntryTableAndMarksThePagesWritten() {
        rig.prd(PRD, entry(0x20000, 512, false), entry(0x30000, 1024, false), entry(0x40100, 512, true));
        table(PRD);
        rig.lba28(0, 20, 4, Ata.READ_DMA);
        assertThat(rig.irq.level()).as("nothing before the start bit").isFalse();
        assertThat(rig.altStatus() & Ata.DRQ).isNotZero();
        start(true);
        assertThat(rig.irq.level()).isTrue();
        assertThat(bmStatus()).isEqualTo(BusMasterDma.STATUS_INTERRUPT);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        byte[] all = new byte[2048];
        rig.memory.read(0x20000, all, 0, 512);
        rig.memory.read(0x30000, all, 512, 1024);
        rig.memory.read(0x40100, all, 1536, 512);
        for (int i = 0; i < all.length; i++) {
            assertThat(all[i]).as("byte %d", i).isEqualTo(IdeRig.expected(20 * 512 + i, 512));
        }
        long[] bits = rig.memory.takeWritten(0);
        for (long gpa : new long[] {0x20000, 0x30000, 0x40100}) {
            assertThat(bits[(int) (gpa / 4096 / 64)] >>> (gpa / 4096 % 64) & 1).as("page of 0x%x", gpa)
                    .isEqualTo(1);
        }
        assertThat(bits[(int) (0x50000 / 4096 / 64)] >>> (0x50000 / 4096 % 64) & 1).isZero();

        rig.bm.write(2, 1, BusMasterDma.STATUS_INTERRUPT);
        assertThat(bmStatus()).as("interrupt is write-1-to-clear").isZero();
    }

    @Test
    void startBitFirstThenCommandAlsoRuns() {
        rig.prd(PRD, entry(0x20000, 0, true)); // 0 = 64 KiB
        table(PRD);
        start(true);
        assertThat(bmStatus() & BusMasterDma.STATUS_ACTIVE).isNotZero();
        rig.lba48(0, 0, 128, Ata.READ_DMA_EXT);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        assertThat(bmStatus()).isEqualTo(BusMasterDma.STATUS_INTERRUPT);
        assertThat(rig.memory.readByte(0x20000 + 65535)).isEqualTo(IdeRig.expected(65535, 512) & 0xff);
    }

    @Test
    void writeDmaTakesDataFromRam() throws IOException {
        byte[] data = new byte[1024];
        new java.util.Random(5).nextBytes(data);
        rig.memory.write(0x8000, data, 0, 600);
        rig.memory.write(0x9000, data, 600, 424);
        rig.prd(PRD, entry(0x8000, 600, false), entry(0x9000, 424, true));
        table(PRD);
        rig.lba28(0, 100, 2, Ata.WRITE_DMA);
        start(false);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        var back = ByteBuffer.allocate(1024);
        disk.blockDevice().orElseThrow().read(100 * 512, back);
        assertThat(back.array()).isEqualTo(data);
    }

    @Test
    void aLongerTableIsFine() {
        rig.prd(PRD, entry(0x20000, 4096, false), entry(0x30000, 4096, true));
        table(PRD);
        rig.lba28(0, 0, 1, Ata.READ_DMA);
        start(true);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        assertThat(bmStatus()).isEqualTo(BusMasterDma.STATUS_INTERRUPT);
    }

    @Test
    void aShorterTableEndsTheCommandWithAbort() {
        rig.prd(PRD, entry(0x20000, 512, true));
        table(PRD);
        rig.lba28(0, 0, 2, Ata.READ_DMA);
        start(true);
        assertThat(rig.irq.level()).isTrue();
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC | Ata.ERR);
        assertThat(rig.in(1)).isEqualTo(Ata.ABRT);
        assertThat(bmStatus() & (BusMasterDma.STATUS_ACTIVE | BusMasterDma.STATUS_ERROR)).isZero();
    }

    @Test
    void aBufferOutsideRamSetsTheErrorAndInterruptBits() {
        rig.prd(PRD, entry(0x20000, 512, false), entry(0xfee0_0000L, 512, true));
        table(PRD);
        rig.lba28(0, 0, 2, Ata.READ_DMA);
        start(true);
        assertThat(rig.irq.level()).isTrue();
        assertThat(bmStatus()).isEqualTo(BusMasterDma.STATUS_ERROR | BusMasterDma.STATUS_INTERRUPT);
        assertThat(rig.status() & Ata.ERR).isNotZero();
        assertThat(rig.in(1) & Ata.ABRT).isNotZero();
        rig.bm.write(2, 1, BusMasterDma.STATUS_ERROR | BusMasterDma.STATUS_INTERRUPT);
        assertThat(bmStatus()).isZero();
    }

    @Test
    void aBufferRunningOffTheEndOfRamIsAnError() {
        rig.prd(PRD, entry(IdeRig.RAM - 256, 512, true));
        table(PRD);
        rig.lba28(0, 0, 1, Ata.READ_DMA);
        start(true);
        assertThat(bmStatus() & BusMasterDma.STATUS_ERROR).isNotZero();
        assertThat(rig.status() & Ata.ERR).isNotZero();
    }

    @Test
    void anUnterminatedTableIsAnError() {
        // 8192+ entries of 2 bytes each, none with EOT: 64 KiB of table for a 32 KiB transfer
        for (int i = 0; i < BusMasterDma.MAX_PRD_ENTRIES + 8; i++) {
            rig.memory.writeLong(0x40000 + 8L * i, entry(0x20000, 2, false));
        }
        table(0x40000);
        rig.lba28(0, 0, 64, Ata.READ_DMA);
        start(true);
        assertThat(bmStatus()).isEqualTo(BusMasterDma.STATUS_ERROR | BusMasterDma.STATUS_INTERRUPT);
        assertThat(rig.status() & Ata.ERR).isNotZero();
    }

    @Test
    void aTableOutsideRamIsAnError() {
        table(0xfff0_0000L);
        rig.lba28(0, 0, 1, Ata.READ_DMA);
        start(true);
        assertThat(bmStatus()).isEqualTo(BusMasterDma.STATUS_ERROR | BusMasterDma.STATUS_INTERRUPT);
    }

    @Test
    void registersKeepTheirWritableBits() {
        rig.bm.write(4, 4, 0x12345677L);
        assertThat(rig.bm.read(4, 4)).as("dword aligned").isEqualTo(0x12345674L);
        rig.bm.write(2, 1, 0xff);
        assertThat(bmStatus()).isEqualTo(BusMasterDma.STATUS_DRIVE0_DMA | BusMasterDma.STATUS_DRIVE1_DMA);
        rig.bm.write(8 + 4, 4, 0x1000);
        assertThat(rig.bm.read(8 + 4, 4)).isEqualTo(0x1000);
        assertThat(rig.bm.read(4, 4)).isEqualTo(0x12345674L);
    }

    @Test
    void anInRangeOutOfRangeCommandNeverStartsDma() {
        rig.prd(PRD, entry(0x20000, 512, true));
        table(PRD);
        rig.lba28(0, 4096, 1, Ata.READ_DMA); // beyond the 2048-sector disk
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC | Ata.ERR);
        assertThat(rig.in(1)).isEqualTo(Ata.IDNF | Ata.ABRT);
        start(true);
        assertThat(rig.memory.readByte(0x20000)).isZero();
        assertThat(pageWritten(0x20000)).isFalse();
    }
}
