package dev.jhv.devices.board;

import dev.jhv.core.boot.BootSetup;
import dev.jhv.core.boot.KernelLoader;
import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.machine.BootProgram;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.vcpu.EntryStateWriter;

import java.util.function.ToLongFunction;

/**
 * -kernel boot: ACPI tables into the BIOS area, then the kernel through the Linux boot protocol (bzImage) or
 * its PVH entry (ELF), and the boot vCPU at the kernel's entry point. Runs at power-on and at every reset,
 * since the guest may have overwritten any of it.
 */
final class DirectKernelBoot implements BootProgram {
    private final MemoryMap map;
    private final ToLongFunction<Machine> acpi;
    private BootSetup lastSetup;

    /** @param acpi writes the ACPI tables and returns the RSDP's address */
    DirectKernelBoot(MemoryMap map, ToLongFunction<Machine> acpi) {
        this.map = map;
        this.acpi = acpi;
    }

    @Override
    public void load(Machine m) {
        MachineConfig c = m.config();
        long rsdp = acpi.applyAsLong(m);
        lastSetup = KernelLoader.load(c.kernel(), c.initrd(), c.append() == null ? "" : c.append(),
                m.memory(), map, rsdp);
        EntryStateWriter.apply(m.vcpus().getFirst().kvm(), lastSetup.entry());
    }

    BootSetup lastSetup() {
        return lastSetup;
    }
}
