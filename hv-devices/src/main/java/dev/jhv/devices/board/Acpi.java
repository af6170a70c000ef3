package dev.jhv.devices.board;

import dev.jhv.core.acpi.AcpiTables;
import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.machine.Machine;

/** The PC's ACPI tables, for the machine's vCPUs and topology; returns the RSDP address. */
final class Acpi {
    private Acpi() { }

    static long build(Machine m, MemoryMap map) {
        return AcpiTables.build(m.memory(), map, m.topology(), m.vcpus().size());
    }
}
