package dev.jhv.devices.pci;

import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.core.vmstate.ScalarType;

/**
 * What every PCI function carries in its state, as QEMU's "PCIDevice" structure: the 256 configuration bytes
 * (BAR addresses, command, interrupt line, device registers) and the level of each INTx pin (0 or 1).
 */
public record PciDeviceState(byte[] config, int[] irqState) {
    public static final int PINS = 4;

    /** The nested structure a function's own description embeds (e.g. as "parent_obj"). */
    public static final RecordDescription<PciDeviceState> VMSTATE =
            RecordDescription.part(PciDeviceState.class, "PCIDevice", 2)
                    .buffer("config", PciConfigSpace.SIZE)
                    .intArray("irq_state", ScalarType.S32, PINS, "irqState")
                    .build();

    public PciDeviceState {
        config = config.clone();
        irqState = irqState.clone();
    }

    @Override
    public byte[] config() {
        return config.clone();
    }

    @Override
    public int[] irqState() {
        return irqState.clone();
    }
}
