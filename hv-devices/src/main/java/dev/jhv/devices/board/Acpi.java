package dev.jhv.devices.board;

import dev.jhv.core.acpi.AcpiTables;
import dev.jhv.core.acpi.PciWindows;
import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.machine.Machine;

/** The PC's ACPI tables, for the machine's vCPUs and topology; returns the RSDP address. */
final class Acpi {
    private Acpi() { }

    static long build(Machine m, MemoryMap map) {
        return AcpiTables.build(m.memory(), map, m.topology(), m.vcpus().size(), pciWindows(map));
    }

    /** The PCI host bridge's 32-bit window: from the end of RAM below 4 GiB, as QEMU's pc. */
    static PciWindows pciWindows(MemoryMap map) {
        return PciWindows.below4g(map.lowMemoryEnd());
    }
}
