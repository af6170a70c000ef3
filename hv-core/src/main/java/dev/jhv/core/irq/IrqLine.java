package dev.jhv.core.irq;

/** One interrupt input (a GSI of the in-kernel PIC/IOAPIC), driven by a device. */
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
