package dev.jhv.launcher.board;

import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.machine.Machine;

/** ACPI tables for the PC (interim: none). */
final class Acpi {
    private Acpi() { }

    static long build(Machine m, MemoryMap map) {
        return 0;
    }
}
