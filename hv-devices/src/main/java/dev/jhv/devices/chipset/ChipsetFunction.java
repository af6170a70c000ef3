package dev.jhv.devices.chipset;

import dev.jhv.core.device.Stateful;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.devices.pci.PciDeviceState;
import dev.jhv.devices.pci.PciFunction;
import dev.jhv.devices.pci.PciIdentity;

import java.util.function.Function;

/** A chipset function whose whole state is its PCI state, wrapped in its own record (QEMU's section layout). */
abstract class ChipsetFunction<S extends Record> extends PciFunction implements Stateful<S> {
    private final RecordDescription<S> vmstate;
    private final Function<PciDeviceState, S> wrap;
    private final Function<S, PciDeviceState> unwrap;

    ChipsetFunction(String name, PciIdentity id, int headerType, int interruptPin, RecordDescription<S> vmstate,
                    Function<PciDeviceState, S> wrap, Function<S, PciDeviceState> unwrap) {
        super(name, id, headerType, interruptPin);
        this.vmstate = vmstate;
        this.wrap = wrap;
        this.unwrap = unwrap;
    }

    @Override
    public final RecordDescription<S> vmstate() {
        return vmstate;
    }

    @Override
    public final S state() {
        return wrap.apply(pciState());
    }

    @Override
    public final void restore(S s) {
        restorePci(unwrap.apply(s));
    }
}
