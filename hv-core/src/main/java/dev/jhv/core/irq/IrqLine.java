package dev.jhv.core.irq;

/**
 * One device's interrupt output, wired to a GSI of the in-kernel irqchip; where several devices share the GSI
 * (see {@link GsiRouter#source}), the GSI is asserted while any of them asserts its line.
 */
@FunctionalInterface
public interface IrqLine {
    /** Drives the line: true asserts it, false deasserts it (level-triggered semantics). */
    void setLevel(boolean asserted);

    /** An edge: assert then deassert. */
    default void pulse() {
        setLevel(true);
        setLevel(false);
    }

    IrqLine NONE = asserted -> { };
}
