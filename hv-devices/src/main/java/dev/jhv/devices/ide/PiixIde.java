package dev.jhv.devices.ide;

import dev.jhv.core.device.Stateful;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.devices.pci.PciAddress;
import dev.jhv.devices.pci.PciConfigSpace;
import dev.jhv.devices.pci.PciDeviceState;
import dev.jhv.devices.pci.PciFunction;
import dev.jhv.devices.pci.PciIdentity;

/**
 * The PIIX3 IDE function (82371SB function 1) at 01.1: 8086:7010, class 0101 with programming interface 0x80
 * (both channels in compatibility mode at the legacy ports and IRQs 14/15, bus mastering), BAR4 the 16-byte
 * bus-master block. The timing registers (IDETIM 0x40/0x42, SIDETIM 0x44) are stored only: their decode-enable
 * bits do not switch the legacy ports off, as on QEMU's piix3-ide.
 */
public final class PiixIde extends PciFunction implements Stateful<PiixIde.State> {
    public static final PciAddress ADDRESS = new PciAddress(0, 1, 1);
    private static final int BUS_MASTER_BAR = 4;
    private static final int PROG_IF_BUS_MASTER = 0x80;

    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "ide", 3)
            .minimumVersion(3)
            .struct("dev", PciDeviceState.VMSTATE, "dev")
            .build();

    public record State(PciDeviceState dev) { }

    public PiixIde(BusMasterDma busMaster) {
        super("piix3-ide", PciIdentity.qemu(0x8086, 0x7010, 0x00, 0x0101, PROG_IF_BUS_MASTER), 0, 0);
        config.set16(PciConfigSpace.STATUS, PciConfigSpace.STATUS_FAST_BACK | PciConfigSpace.STATUS_DEVSEL_MEDIUM);
        config.setStored(PciConfigSpace.DEVICE_SPECIFIC, PciConfigSpace.SIZE - PciConfigSpace.DEVICE_SPECIFIC);
        ioBar(BUS_MASTER_BAR, BusMasterDma.LENGTH, busMaster);
    }

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public State state() {
        return new State(pciState());
    }

    @Override
    public void restore(State s) {
        restorePci(s.dev());
    }
}
