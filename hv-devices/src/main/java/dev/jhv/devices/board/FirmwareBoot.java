package dev.jhv.devices.board;

import dev.jhv.core.machine.BootProgram;
import dev.jhv.core.machine.Machine;

/**
 * Boot through the firmware: nothing to load, since the ROM is mapped at the reset vector and every CPU starts in
 * KVM's reset state (real mode, CS:IP F000:FFF0 with CS's base at 0xFFFF0000; the others wait for INIT-SIPI).
 * At a reset the shadow RAM goes back to showing the ROM, so the firmware runs from the ROM again.
 */
final class FirmwareBoot implements BootProgram {
    private final ShadowRam shadow;

    FirmwareBoot(ShadowRam shadow) {
        this.shadow = shadow;
    }

    @Override
    public void load(Machine machine) {
        shadow.reset();
    }
}
