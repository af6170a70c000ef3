package dev.jhv.devices.acpi;

import dev.jhv.core.vmstate.RecordDescription;

import dev.jhv.devices.platform.ResetTriggerRegister;
import dev.jhv.devices.platform.SystemControl;


/**
 * The PIIX reset control register at port 0xCF9, also the FADT's ACPI reset register (value 0x06).
 * Bit 1 (SRST) selects a hard reset and is kept; writing bit 2 (RCPU) resets the machine, as QEMU's PIIX does,
 * so both the ACPI value 0x06 and the 0x02-then-0x06 sequence of Linux's {@code reboot=pci} work.
 *
 * <p>The port lies inside the PCI configuration address register's 0xCF8–0xCFB: a PCI host bridge that claims
 * those ports must pass single-byte accesses to 0xCF9 here.
 */
public final class ResetControl extends ResetTriggerRegister {
    public static final int PORT = 0xcf9;
    /** The value the FADT's RESET_VALUE gives for RESET_REG = I/O port 0xCF9. */
    public static final int RESET_VALUE = 0x06;
    static final int SRST = 0x02;
    static final int RCPU = 0x04;

    /** The kept SRST bit, as QEMU's PIIX keeps its "rcr". */
    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "piix_rcr", 1)
            .minimumVersion(1)
            .u8("rcr", "value")
            .build();

    public ResetControl(SystemControl control) {
        super(control);
    }

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public String id() {
        return "piix_rcr";
    }

    @Override
    protected int storedMask() {
        return SRST;
    }

    @Override
    protected int stored(int old, int written) {
        return (written & RCPU) != 0 ? 0 : written & SRST;
    }

    @Override
    protected boolean resets(int old, int written) {
        return (written & RCPU) != 0;
    }
}
