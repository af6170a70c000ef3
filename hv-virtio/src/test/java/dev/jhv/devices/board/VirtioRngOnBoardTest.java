package dev.jhv.devices.board;

import dev.jhv.core.bus.MmioBus;
import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.devices.pci.PciBar;
import dev.jhv.devices.pci.PciFunction;
import dev.jhv.virtio.VirtioDevices;
import dev.jhv.virtio.pci.VirtioPciFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * virtio-rng on the real board (KVM VM, the machine's buses, MSI-X routes on its GSI router): the test plays a
 * modern driver through the MMIO bus as a vCPU's exits would reach it, and the device fills the buffer with
 * random bytes on its own I/O thread.
 */
@Tag("kvm")
class VirtioRngOnBoardTest {
    /** virtio 1.2, 4.1.4.3: common configuration offsets. */
    private static final int GF_SELECT = 8;
    private static final int GF = 12;
    private static final int STATUS = 20;
    private static final int Q_SIZE = 24;
    private static final int Q_ENABLE = 28;
    private static final int Q_DESC = 32;
    private static final int Q_AVAIL = 40;
    private static final int Q_USED = 48;
    /** QEMU's BAR4 layout: ISR at 0x1000, notify at 0x3000. */
    private static final int ISR = 0x1000;
    private static final int NOTIFY = 0x3000;
    private static final long RING = 0x400_0000;
    private static final long BUFFER = RING + 0x10000;

    private PcBoard board;

    @BeforeEach
    void build() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        assumeTrue(Files.exists(PcBoardStateTest.config().kernel()), "test guest missing: run guest-images/build");
        var config = new BoardConfig(PcBoardStateTest.config(), List.of(),
                List.of(new DeviceSpec.VirtioRngPci("rng0", Optional.empty())), null, BoardConfig.BootOrder.DEFAULT,
                List.of());
        board = PcBoard.create(config, null, List.of(), dev.jhv.core.machine.Machine.KvmBase.open(),
                new VirtioDevices());
    }

    @AfterEach
    void close() {
        if (board != null) {
            board.close();
        }
    }

    @Test
    void aModernDriverGetsRandomBytes() throws Exception {
        PciFunction f = board.machine().devices().stream().filter(d -> d instanceof VirtioPciFunction<?>)
                .map(d -> (PciFunction) d).findFirst().orElseThrow();
        long bar4 = f.bars().stream().filter(b -> b.kind() == PciBar.Kind.MEMORY64).findFirst().orElseThrow()
                .mappedAddress();
        MmioBus mmio = board.machine().mmioBus();
        GuestMemory mem = board.machine().memory();
        mem.fill(RING, 0x20000, (byte) 0);
        // one writable descriptor of 64 bytes, made available
        mem.writeLong(RING, BUFFER);
        mem.writeInt(RING + 8, 64);
        mem.writeShort(RING + 12, 2);
        long avail = RING + 0x1000;
        long used = RING + 0x2000;
        mem.writeShort(avail + 4, 0);
        mem.writeShort(avail + 2, 1);

        mmio.write(bar4 + STATUS, 1, 1 | 2);
        mmio.write(bar4 + GF_SELECT, 4, 1);
        mmio.write(bar4 + GF, 4, 1); // VERSION_1
        mmio.write(bar4 + STATUS, 1, 1 | 2 | 8);
        assertThat(mmio.read(bar4 + STATUS, 1)).as("FEATURES_OK accepted").isEqualTo(11);
        mmio.write(bar4 + Q_SIZE, 2, 8);
        mmio.write(bar4 + Q_DESC, 4, RING);
        mmio.write(bar4 + Q_AVAIL, 4, avail);
        mmio.write(bar4 + Q_USED, 4, used);
        mmio.write(bar4 + Q_ENABLE, 2, 1);
        mmio.write(bar4 + STATUS, 1, 1 | 2 | 8 | 4);
        mmio.write(bar4 + NOTIFY, 2, 0);

        f.pause(); // returns once the I/O thread served the notification rung before it (and is outside the device)
        assertThat(mem.readShort(used + 2)).as("used idx").isEqualTo(1);
        assertThat(mem.readInt(used + 4)).as("used id").isZero();
        assertThat(mem.readInt(used + 8)).as("bytes written").isEqualTo(64);
        assertThat(mem.read(BUFFER, 64)).as("random bytes").isNotEqualTo(new byte[64]);
        assertThat(mem.read(BUFFER + 64, 64)).as("nothing past the buffer").isEqualTo(new byte[64]);
        assertThat(mmio.read(bar4 + ISR, 1)).as("queue interrupt in the ISR, MSI-X off").isEqualTo(1);
        assertThat(mmio.read(bar4 + ISR, 1)).as("read to clear").isZero();
        f.resume();
    }
}
