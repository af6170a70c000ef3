package dev.jhv.devices.ide;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AtapiCdromTest {
    static final int BLOCKS = 100;
    @TempDir
    Path dir;
    IdeRig rig;
    AtapiCdrom cd;

    @BeforeEach
    void setUp() throws IOException {
        rig = new IdeRig();
        cd = new AtapiCdrom(rig.open(IdeRig.image(dir, "cd.iso", BLOCKS * 2048L, 2048), true));
        rig.with(null, null);
        rig = rigWith(cd);
    }

    private IdeRig rigWith(AtapiCdrom drive) {
        rig.channel = new IdeChannel(1, rig.irq, drive, null);
        rig.other = new IdeChannel(0, rig.irq2, null, null);
        rig.bm = new BusMasterDma(rig.memory, rig.other, rig.channel);
        return rig;
    }

    @AfterEach
    void tearDown() throws IOException {
        rig.close();
    }

    private int[] sense() {
        rig.packet(0, 0xfffe, 0x03, 0, 0, 0, 18, 0);
        byte[] s = rig.atapiData(null);
        assertThat(rig.status() & Ata.ERR).isZero();
        return new int[] {s[2] & 0x0f, s[12] & 0xff, s[13] & 0xff};
    }

    private void assertCheckCondition(int key) {
        assertThat(rig.status() & (Ata.ERR | Ata.DRQ)).isEqualTo(Ata.ERR);
        assertThat(rig.in(1)).isEqualTo(key << 4 | Ata.ABRT);
        assertThat(rig.in(2) & 3).as("status phase: I/O and C/D").isEqualTo(3);
    }

    @Test
    void identifyDeviceAbortsWithThePacketSignature() {
        rig.select(0);
        rig.out(7, Ata.IDENTIFY_DEVICE);
        assertThat(rig.irq.level()).isTrue();
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.ERR);
        assertThat(rig.in(1)).isEqualTo(Ata.ABRT);
        assertThat(rig.in(4)).isEqualTo(0x14);
        assertThat(rig.in(5)).isEqualTo(0xeb);
    }

    @Test
    void identifyPacketDevice() {
        rig.select(0);
        rig.out(7, Ata.IDENTIFY_PACKET_DEVICE);
        rig.status();
        byte[] id = rig.readData(512);
        assertThat((id[0] & 0xff) | (id[1] & 0xff) << 8).isEqualTo(0x85c0);
        assertThat(id[55]).isEqualTo((byte) 'J');
    }

    @Test
    void packetPhaseAsksForTheCommandWithoutAnInterrupt() {
        rig.select(0);
        rig.out(4, 0);
        rig.out(5, 8);
        rig.out(7, Ata.PACKET);
        assertThat(rig.irq.level()).isFalse();
        assertThat(rig.status() & (Ata.DRQ | Ata.BSY)).isEqualTo(Ata.DRQ);
        assertThat(rig.in(2) & 3).as("C/D set, I/O clear").isEqualTo(1);
    }

    @Test
    void inquiry() {
        sense(); // the first command after power-on: no unit attention pending
        rig.packet(0, 0xfffe, 0x12, 0, 0, 0, 36, 0);
        byte[] d = rig.atapiData(null);
        assertThat(d).hasSize(36);
        assertThat(d[0]).isEqualTo((byte) 0x05);
        assertThat(d[1] & 0x80).as("removable").isEqualTo(0x80);
        assertThat(new String(d, 8, 8).trim()).isEqualTo("JHV");
        assertThat(new String(d, 16, 16).trim()).isEqualTo("JHV DVD-ROM");
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
    }

    @Test
    void inquiryIsCutToTheAllocationLength() {
        rig.packet(0, 0xfffe, 0x12, 0, 0, 0, 5, 0);
        assertThat(rig.atapiData(null)).hasSize(5);
    }

    @Test
    void readCapacity() {
        rig.packet(0, 0xfffe, 0x25);
        byte[] d = rig.atapiData(null);
        assertThat(java.nio.ByteBuffer.wrap(d).getInt(0)).isEqualTo(BLOCKS - 1);
        assertThat(java.nio.ByteBuffer.wrap(d).getInt(4)).isEqualTo(2048);
    }

    @Test
    void read10InSeveralDrqBlocksOfTheByteCountLimit() {
        int edgesBefore = rig.irq.risingEdges();
        rig.packet(0, 1000, 0x28, 0, 0, 0, 0, 7, 0, 0, 3, 0); // LBA 7, 3 blocks, at most 1000 bytes a block
        var sizes = new ArrayList<Integer>();
        byte[] d = rig.atapiData(sizes);
        assertThat(d).hasSize(3 * 2048);
        for (int i = 0; i < d.length; i++) {
            if (d[i] != IdeRig.expected(7 * 2048L + i, 2048)) {
                throw new AssertionError("byte " + i + " differs");
            }
        }
        assertThat(sizes).allMatch(n -> n <= 1000 && n % 2 == 0);
        assertThat(sizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(6144);
        assertThat(rig.irq.level()).as("completion interrupt").isTrue();
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        assertThat(rig.in(2) & 3).isEqualTo(3);
        assertThat(rig.irq.risingEdges() - edgesBefore).isEqualTo(sizes.size() + 1);
    }

    @Test
    void read12AndOutOfRange() {
        rig.packet(0, 0xfffe, 0xa8, 0, 0, 0, 0, BLOCKS - 1, 0, 0, 0, 1);
        assertThat(rig.atapiData(null)).hasSize(2048);
        rig.status();
        rig.packet(0, 0xfffe, 0x28, 0, 0, 0, 0, BLOCKS - 1, 0, 0, 2, 0);
        assertCheckCondition(AtapiCdrom.ILLEGAL_REQUEST);
        assertThat(sense()).containsExactly(5, 0x21, 0);
    }

    @Test
    void atapiDmaRead() {
        rig.prd(0x1000, IdeRig.entry(0x20000, 4096, true));
        rig.bm.write(8 + 4, 4, 0x1000);
        rig.bm.write(8, 1, BusMasterDma.CMD_START | BusMasterDma.CMD_WRITE_TO_MEMORY);
        rig.out(6, 0xa0);
        rig.out(1, 1); // DMA
        rig.out(7, Ata.PACKET);
        rig.writeData(new byte[] {0x28, 0, 0, 0, 0, 2, 0, 0, 2, 0, 0, 0});
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        assertThat(rig.memory.readByte(0x20000 + 4095)).isEqualTo(IdeRig.expected(2 * 2048 + 4095, 2048) & 0xff);
        assertThat(rig.bm.read(8 + 2, 1)).isEqualTo(BusMasterDma.STATUS_INTERRUPT);
    }

    @Test
    void readToc() {
        rig.packet(0, 0xfffe, 0x43, 0, 0, 0, 0, 0, 1, 0, 100, 0);
        byte[] d = rig.atapiData(null);
        assertThat(d).hasSize(20);
        assertThat(((d[0] & 0xff) << 8) | (d[1] & 0xff)).isEqualTo(18);
        assertThat(d[2]).isEqualTo((byte) 1);
        assertThat(d[3]).isEqualTo((byte) 1);
        assertThat(d[6]).isEqualTo((byte) 1);
        assertThat(d[14]).isEqualTo((byte) 0xaa);
        assertThat(java.nio.ByteBuffer.wrap(d).getInt(16)).as("lead-out LBA").isEqualTo(BLOCKS);
        rig.status();
        rig.packet(0, 0xfffe, 0x43, 2, 0, 0, 0, 0, 1, 0, 100, 0); // MSF
        d = rig.atapiData(null);
        assertThat(new byte[] {d[9], d[10], d[11]}).as("track 1 at 00:02:00").containsExactly(0, 2, 0);
        assertThat(new byte[] {d[17], d[18], d[19]}).as("lead-out at LBA 100 + 150").containsExactly(0, 3, 25);
        rig.status();
        rig.packet(0, 0xfffe, 0x43, 0, 1, 0, 0, 0, 0, 0, 12, 0); // session info
        d = rig.atapiData(null);
        assertThat(d).hasSize(12);
        assertThat(d[6]).isEqualTo((byte) 1);
    }

    @Test
    void modeSenseCapabilitiesAndAllPages() {
        rig.packet(0, 0xfffe, 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 100, 0);
        byte[] d = rig.atapiData(null);
        assertThat(d).hasSize(8 + 20);
        assertThat(d[8]).isEqualTo((byte) 0x2a);
        assertThat(d[9]).isEqualTo((byte) 0x12);
        rig.status();
        rig.packet(0, 0xfffe, 0x5a, 0, 0x3f, 0, 0, 0, 0, 1, 0, 0);
        d = rig.atapiData(null);
        assertThat(d).hasSize(8 + 8 + 8 + 16 + 20);
        rig.status();
        rig.packet(0, 0xfffe, 0x1a, 0, 0x01, 0, 100, 0);
        d = rig.atapiData(null);
        assertThat(d).hasSize(4 + 8);
        assertThat(d[4]).isEqualTo((byte) 0x01);
        rig.status();
        rig.packet(0, 0xfffe, 0x5a, 0, 0x05, 0, 0, 0, 0, 0, 100, 0);
        assertCheckCondition(AtapiCdrom.ILLEGAL_REQUEST);
    }

    @Test
    void getConfigurationNamesTheProfile() {
        rig.packet(0, 0xfffe, 0x46, 0, 0, 0, 0, 0, 0, 0, 100, 0);
        byte[] d = rig.atapiData(null);
        assertThat(((d[6] & 0xff) << 8) | (d[7] & 0xff)).as("CD-ROM: a small medium").isEqualTo(0x0008);
    }

    @Test
    void unknownCommandIsIllegalRequest() {
        rig.packet(0, 0xfffe, 0xff);
        assertCheckCondition(AtapiCdrom.ILLEGAL_REQUEST);
        assertThat(sense()).containsExactly(5, 0x20, 0);
    }

    @Test
    void mediaChangeGivesUnitAttentionOnce() throws IOException {
        cd.eject(false);
        cd.insert(rig.open(IdeRig.image(dir, "cd2.iso", 400 * 2048L, 2048), true));
        rig.packet(0, 0xfffe, 0x00); // TEST UNIT READY
        assertCheckCondition(AtapiCdrom.UNIT_ATTENTION);
        assertThat(sense()).containsExactly(6, 0x28, 0);
        rig.packet(0, 0xfffe, 0x00);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        rig.packet(0, 0xfffe, 0x25);
        assertThat(java.nio.ByteBuffer.wrap(rig.atapiData(null)).getInt(0)).isEqualTo(399);
    }

    @Test
    void requestSenseRightAfterAChangeReportsIt() throws IOException {
        cd.insert(rig.open(IdeRig.image(dir, "cd3.iso", 10 * 2048L, 2048), true));
        assertThat(sense()).containsExactly(6, 0x28, 0);
        assertThat(sense()).as("and then it is gone").containsExactly(0, 0, 0);
    }

    @Test
    void noMediumIsNotReady() {
        cd.eject(false);
        rig.packet(0, 0xfffe, 0x00);
        assertCheckCondition(AtapiCdrom.NOT_READY);
        assertThat(sense()).containsExactly(2, 0x3a, 0);
        rig.packet(0, 0xfffe, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
        assertCheckCondition(AtapiCdrom.NOT_READY);
        assertThat(cd.blockDevice()).isEmpty();
    }

    @Test
    void aLockedTrayRefusesEjectUntilForced() {
        rig.packet(0, 0xfffe, 0x1e, 0, 0, 0, 1, 0); // PREVENT
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        assertThat(cd.trayLocked()).isTrue();
        assertThatThrownBy(() -> cd.eject(false)).isInstanceOf(TrayLockedException.class)
                .hasMessage("Device 'ide1-cd0' is locked and force was not specified, wait for tray to open and "
                        + "try again");
        assertThat(cd.blockDevice()).isPresent();
        // the guest hears of the eject request
        rig.packet(0, 0xfffe, 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0);
        byte[] ev = rig.atapiData(null);
        assertThat(ev[4]).isEqualTo((byte) AtapiCdrom.EVENT_EJECT_REQUEST);
        rig.status();
        // and START STOP UNIT (eject) is refused too
        rig.packet(0, 0xfffe, 0x1b, 0, 0, 0, 2, 0);
        assertCheckCondition(AtapiCdrom.NOT_READY);

        assertThat(cd.eject(true)).isPresent();
        assertThat(cd.trayOpen()).isTrue();
        assertThat(cd.trayLocked()).isFalse();
        assertThat(cd.blockDevice()).isEmpty();
    }

    @Test
    void driveNamesAsQemu() {
        assertThat(cd.name()).isEqualTo("ide1-cd0");
        assertThat(rig.channel.driveName(0)).isEqualTo("ide1-cd0");
    }

    @Test
    void deviceResetGivesTheSignatureWithoutAnInterrupt() {
        rig.select(0);
        rig.out(4, 0x55);
        rig.out(7, Ata.DEVICE_RESET);
        assertThat(rig.irq.level()).isFalse();
        assertThat(rig.in(4)).isEqualTo(0x14);
        assertThat(rig.in(5)).isEqualTo(0xeb);
        assertThat(rig.status()).isZero();
    }

    @Test
    void blockSizesFollowAnOddLimitDownToEven() {
        var sizes = new ArrayList<Integer>();
        rig.packet(0, 999, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
        rig.atapiData(sizes);
        assertThat(sizes).startsWith(998, 998).allMatch(n -> n % 2 == 0);
        assertThat(sizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(2048);
        List<Integer> none = new ArrayList<>();
        assertThat(none).isEmpty();
    }
}
