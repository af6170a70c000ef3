package dev.jhv.devices.ide;

import dev.jhv.core.device.StatefulRoundTrip;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class IdeChannelTest {
    @TempDir
    Path dir;
    IdeRig rig;
    AtaDisk disk;
    AtapiCdrom cd;

    @BeforeEach
    void setUp() throws IOException {
        rig = new IdeRig();
        disk = new AtaDisk(rig.open(IdeRig.image(dir, "disk.raw", 1 << 20, 512), false));
        cd = new AtapiCdrom(rig.open(IdeRig.image(dir, "cd.iso", 64 * 2048, 2048), true));
        rig.with(disk, cd);
    }

    @AfterEach
    void tearDown() throws IOException {
        rig.close();
    }

    @Test
    void softwareResetGivesBothSignatures() {
        rig.lba28(0, 3, 1, Ata.READ_SECTORS); // something in flight
        rig.control(Ata.SRST);
        assertThat(rig.altStatus() & Ata.BSY).isNotZero();
        rig.control(0);
        rig.select(0);
        assertThat(rig.in(2)).isEqualTo(1);
        assertThat(rig.in(3)).isEqualTo(1);
        assertThat(rig.in(4)).isZero();
        assertThat(rig.in(5)).isZero();
        assertThat(rig.in(1)).isEqualTo(0x01);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        assertThat(rig.readData(2)).as("the read was cancelled").containsExactly(0, 0);
        rig.out(6, 0xb0);
        assertThat(rig.in(4)).isEqualTo(0x14);
        assertThat(rig.in(5)).isEqualTo(0xeb);
        assertThat(rig.status()).as("packet device: DRDY clear after reset").isZero();
        assertThat(rig.irq.level()).isFalse();
    }

    @Test
    void executeDeviceDiagnosticSetsSignaturesAndInterrupts() {
        rig.select(0);
        rig.out(4, 0x77);
        rig.out(7, Ata.EXECUTE_DEVICE_DIAGNOSTIC);
        assertThat(rig.irq.level()).isTrue();
        assertThat(rig.in(1)).isEqualTo(0x01);
        assertThat(rig.in(4)).isZero();
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        rig.out(6, 0xb0);
        assertThat(rig.in(5)).isEqualTo(0xeb);
    }

    @Test
    void anAbsentSlaveReadsStatusZeroAndIgnoresCommands() throws IOException {
        var solo = new IdeRig();
        try {
            solo.with(new AtaDisk(solo.open(IdeRig.image(dir, "solo.raw", 65536, 512), false)), null);
            solo.out(6, 0xb0);
            assertThat(solo.status()).isZero();
            assertThat(solo.altStatus()).isZero();
            solo.out(7, Ata.IDENTIFY_DEVICE);
            assertThat(solo.irq.level()).isFalse();
            assertThat(solo.status()).isZero();
            solo.out(6, 0xa0);
            assertThat(solo.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        } finally {
            solo.close();
        }
    }

    @Test
    void anEmptyChannelReadsZero() {
        var empty = rig.other;
        assertThat(empty.commandBlock().read(7, 1)).isZero();
        assertThat(empty.commandBlock().read(2, 1)).isZero();
        assertThat(empty.controlBlock().read(0, 1)).isZero();
        empty.commandBlock().write(7, 1, Ata.IDENTIFY_DEVICE);
        assertThat(rig.irq2.level()).isFalse();
    }

    @Test
    void namesAndBlockDevicesForInfoBlock() {
        assertThat(rig.channel.driveName(0)).isEqualTo("ide0-hd0");
        assertThat(rig.channel.driveName(1)).isEqualTo("ide0-cd1");
        assertThat(disk.name()).isEqualTo("ide0-hd0");
        assertThat(rig.channel.drive(1).orElseThrow().blockDevice()).isPresent();
    }

    // ---- state ----

    @Test
    void aHalfDonePioReadResumesInAFreshChannel() {
        rig.lba28(0, 9, 3, Ata.READ_SECTORS);
        rig.status();
        byte[] first = rig.readData(512 + 100); // sector 9 and 100 bytes of sector 10
        rig.altStatus();
        byte[] saved = rig.channel.saveState();

        var irq = new dev.jhv.devices.testing.RecordingIrq();
        var fresh = new IdeChannel(0, irq, new AtaDisk(disk.blockDevice().orElseThrow()),
                new AtapiCdrom(cd.blockDevice().orElseThrow()));
        fresh.loadState(saved, 1);
        rig.channel = fresh;
        assertThat(irq.level()).as("the pending interrupt of sector 10's block").isTrue();
        byte[] rest = rig.readData(412);
        assertThat(rig.status() & Ata.DRQ).isNotZero();
        byte[] third = rig.readData(512);
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);

        byte[] all = new byte[1536];
        System.arraycopy(first, 0, all, 0, 612);
        System.arraycopy(rest, 0, all, 612, 412);
        System.arraycopy(third, 0, all, 1024, 512);
        for (int i = 0; i < all.length; i++) {
            assertThat(all[i]).as("byte %d", i).isEqualTo(IdeRig.expected(9 * 512 + i, 512));
        }
    }

    @Test
    void aHalfDonePioWriteAndAtapiStateSurvive() throws IOException {
        byte[] data = new byte[1024];
        new java.util.Random(3).nextBytes(data);
        rig.packet(1, 0xfffe, 0x1e, 0, 0, 0, 1, 0); // lock the tray
        rig.status();
        rig.lba28(0, 50, 2, Ata.WRITE_SECTORS);
        rig.writeData(java.util.Arrays.copyOf(data, 300));
        byte[] saved = rig.channel.saveState();

        var freshCd = new AtapiCdrom(cd.blockDevice().orElseThrow());
        var fresh = new IdeChannel(0, new dev.jhv.devices.testing.RecordingIrq(),
                new AtaDisk(disk.blockDevice().orElseThrow()), freshCd);
        fresh.loadState(saved, 1);
        rig.channel = fresh;
        rig.writeData(java.util.Arrays.copyOfRange(data, 300, 1024));
        assertThat(rig.status()).isEqualTo(Ata.DRDY | Ata.DSC);
        var back = java.nio.ByteBuffer.allocate(1024);
        disk.blockDevice().orElseThrow().read(50 * 512, back);
        assertThat(back.array()).isEqualTo(data);
        assertThat(freshCd.trayLocked()).isTrue();
    }

    @Test
    void anAtapiReplyHalfReadSurvives() {
        rig.packet(1, 700, 0x28, 0, 0, 0, 0, 4, 0, 0, 2, 0);
        rig.status();
        int n = rig.in(4) | rig.in(5) << 8;
        byte[] a = rig.readData(n);
        byte[] saved = rig.channel.saveState();
        var fresh = new IdeChannel(0, new dev.jhv.devices.testing.RecordingIrq(),
                new AtaDisk(disk.blockDevice().orElseThrow()), new AtapiCdrom(cd.blockDevice().orElseThrow()));
        fresh.loadState(saved, 1);
        rig.channel = fresh;
        byte[] rest = rig.atapiData(null);
        assertThat(a.length + rest.length).isEqualTo(4096);
        for (int i = 0; i < rest.length; i++) {
            assertThat(rest[i]).isEqualTo(IdeRig.expected(4 * 2048 + a.length + i, 2048));
        }
    }

    @Test
    void roundTrips() {
        StatefulRoundTrip.check(rig.channel, () -> new IdeChannel(0, new dev.jhv.devices.testing.RecordingIrq(),
                new AtaDisk(disk.blockDevice().orElseThrow()), new AtapiCdrom(cd.blockDevice().orElseThrow())));
        rig.lba48(0, 1, 2, Ata.READ_SECTORS_EXT);
        rig.readData(30);
        rig.out(6, 0xb0);
        rig.packet(1, 0xfffe, 0xff); // sense set
        StatefulRoundTrip.check(rig.channel, () -> new IdeChannel(0, new dev.jhv.devices.testing.RecordingIrq(),
                new AtaDisk(disk.blockDevice().orElseThrow()), new AtapiCdrom(cd.blockDevice().orElseThrow())));
        rig.bm.write(0, 1, 1);
        rig.bm.write(4, 4, 0x1230);
        rig.bm.write(8 + 2, 1, 0x60);
        StatefulRoundTrip.check(rig.bm, () -> new BusMasterDma(rig.memory, new IdeChannel(0,
                new dev.jhv.devices.testing.RecordingIrq(), null, null), new IdeChannel(1,
                new dev.jhv.devices.testing.RecordingIrq(), null, null)));
    }

    @Test
    void busMasterRandomStatesRoundTrip() {
        StatefulRoundTrip.checkRandomised(() -> new BusMasterDma(rig.memory, new IdeChannel(0,
                new dev.jhv.devices.testing.RecordingIrq(), null, null), new IdeChannel(1,
                new dev.jhv.devices.testing.RecordingIrq(), null, null)), 6);
    }

    @Test
    void aBrokenSavedStateIsRefusedWhole() {
        var s = rig.channel.state();
        var d = s.drive0();
        var bad = new IdeChannel.Drive(d.feature(), d.hobFeature(), d.nsector(), d.hobNsector(), d.sector(),
                d.hobSector(), d.lcyl(), d.hobLcyl(), d.hcyl(), d.hobHcyl(), d.select(), d.status(), d.error(),
                d.command(), d.lba48(), d.multSectors(), d.heads(), d.sectorsPerTrack(), d.transferMode(),
                d.writeCache(), Transfer.READ_SECTORS.ordinal(), new byte[10], 20, 10, d.lba(), d.remaining(),
                d.blockSectors(), d.atapiLeft(), d.byteLimit(), d.senseKey(), d.asc(), d.ascq(), d.trayOpen(),
                d.trayLocked(), d.cdromChanged(), d.mediaEvent());
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> rig.channel.restore(new IdeChannel.State(s.cmd(), s.irqPending(), bad, s.drive1())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PIO position");
        assertThat(rig.channel.state().drive0().endTransfer()).isEqualTo(Transfer.NONE.ordinal());
    }
}
