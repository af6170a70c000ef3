package dev.jhv.devices.sysctl;

import dev.jhv.core.vmstate.RecordDescription;

import dev.jhv.devices.platform.ResetTriggerRegister;
import dev.jhv.devices.platform.SystemControl;


/**
 * The PS/2 System Control Port A at 0x92 ("port 92"): bit 1 is the fast A20 gate, bit 0 the fast reset.
 * Setting bit 0 (a 0 to 1 change) resets the machine. A20 is kept only as a value to read back: guest memory
 * is never wrapped at 1 MiB (KVM has no A20 masking), which is what every modern guest wants anyway.
 */
public final class SystemControlPortA extends ResetTriggerRegister {
    public static final int PORT = 0x92;
    static final int FAST_RESET = 0x01;
    static final int A20 = 0x02;

    /** The kept value (fast A20 and fast reset bits), as QEMU's "port92" section keeps "outport". */
    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "port92", 1)
            .minimumVersion(1)
            .u8("outport", "value")
            .build();

    public SystemControlPortA(SystemControl control) {
        super(control);
    }

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public String id() {
        return "port92";
    }

    @Override
    protected int storedMask() {
        return FAST_RESET | A20;
    }

    @Override
    protected int stored(int old, int written) {
        return written & (FAST_RESET | A20);
    }

    @Override
    protected boolean resets(int old, int written) {
        return (written & FAST_RESET) != 0 && (old & FAST_RESET) == 0;
    }
}
