package dev.jhv.core.machine;

/**
 * What the machine runs from power-on: writes the kernel (or firmware) and its tables into RAM and sets the
 * boot vCPU's registers. Called before the first start and again at every reset.
 */
@FunctionalInterface
public interface BootProgram {
    void load(Machine machine);
}
