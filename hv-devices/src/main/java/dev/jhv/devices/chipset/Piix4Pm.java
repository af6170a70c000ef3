package dev.jhv.devices.chipset;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.devices.pci.PciAddress;
import dev.jhv.devices.pci.PciConfigSpace;
import dev.jhv.devices.pci.PciDeviceState;
import dev.jhv.devices.pci.PciIdentity;
import dev.jhv.devices.pci.PciWindow;

/**
 * The PIIX4 power management function (82371AB function 3) at 01.3: 8086:7113 rev 03, class 0680, INTA#.
 * PMBA (0x40) places the ACPI register block (bit 0 reads 1, 64-byte aligned) and PMREGMISC (0x80) bit 0
 * enables it on the I/O bus. SMBBA (0x90) and SMBHSTCFG (0xD2) are stored only. The SCI is IRQ 9, wired by the
 * board, not this function's INTx.
 */
public final class Piix4Pm extends ChipsetFunction<Piix4Pm.State> {
    public static final PciAddress ADDRESS = new PciAddress(0, 1, 3);
    public static final int PMBA = 0x40;
    public static final int PMREGMISC = 0x80;
    public static final int SMBBA = 0x90;
    public static final int SMBHSTCFG = 0xd2;
    /** Device activity B (0x58): bit 25 enables SMIs from the APM control port. */
    static final int DEVACTB = 0x58;
    static final int DEVACTB_APMC_EN = 1 << 25;
    static final int PMIOSE = 0x01;
    static final int SCI_IRQ = 9;
    /** Where SeaBIOS puts the block (and jhv's FADT says it is). */
    public static final int FIRMWARE_PM_BASE = 0x600;

    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "piix4_pm", 1)
            .minimumVersion(1)
            .struct("parent_obj", PciDeviceState.VMSTATE, "parentObj")
            .build();

    public record State(PciDeviceState parentObj) { }

    private final PciWindow pm;

    /** @param pmRegisters the ACPI block ({@code dev.jhv.devices.acpi.AcpiPm}), {@code length} bytes of ports */
    public Piix4Pm(BusHandler pmRegisters, int length) {
        super("piix4_pm", PciIdentity.qemu(0x8086, 0x7113, 0x03, 0x0680, 0), 0, 1,
                VMSTATE, State::new, State::parentObj);
        if (length <= 0 || length > 64) {
            throw new IllegalArgumentException("PM block of " + length + " bytes does not fit PMBA's 64");
        }
        pm = window("piix4_pm PMBA", PciWindow.Space.IO, length, pmRegisters);
        config.set16(PciConfigSpace.STATUS, PciConfigSpace.STATUS_FAST_BACK | PciConfigSpace.STATUS_DEVSEL_MEDIUM);
        config.setStored(PciConfigSpace.DEVICE_SPECIFIC, PciConfigSpace.SIZE - PciConfigSpace.DEVICE_SPECIFIC);
        config.set32(PMBA, 1);
        config.setWriteMask(PMBA, 4, 0xffc0);
        config.set8(0x5f, 0x10);
        config.set8(0x63, 0x60);
        // DEVACTB's APMC_EN reads set: jhv has no SMM, and the firmware takes the bit to mean that its SMM set-up
        // was done already (as QEMU's piix4_pm without SMM), instead of raising an SMI that never comes
        config.set8(DEVACTB + 3, DEVACTB_APMC_EN >>> 24);
        config.setWriteMask(PMREGMISC, 1, PMIOSE);
        config.set32(SMBBA, 1);
        config.setWriteMask(SMBBA, 4, 0xfff0);
        config.setWriteMask(SMBHSTCFG, 1, 0x0f);
    }

    /** Where the PM block is on the I/O bus, or -1. */
    public long pmBase() {
        return pm.base();
    }

    @Override
    protected void configWritten(int reg, int size) {
        if ((reg < PMBA + 4 && reg + size > PMBA) || (reg <= PMREGMISC && reg + size > PMREGMISC)) {
            placePm();
        }
    }

    @Override
    protected void configRestored() {
        placePm();
    }

    private void placePm() {
        long base = config.get32(PMBA) & 0xffc0;
        boolean on = (config.get8(PMREGMISC) & PMIOSE) != 0 && base != 0;
        placeWindow(pm, on ? base : -1);
    }

    /** SeaBIOS's setup: the block at 0x600, enabled. */
    @Override
    protected void configureWithoutFirmware() {
        config.set32(PMBA, FIRMWARE_PM_BASE | 1);
        config.set8(PMREGMISC, PMIOSE);
        placePm();
    }

    /** SeaBIOS writes the SCI's IRQ here, not the PIRQ route. */
    @Override
    protected int firmwareInterruptLine(int routedIrq) {
        return SCI_IRQ;
    }
}
