package dev.jhv.core.irq;

/** GSI {@code gsi} drives pin {@code pin} of {@code chip}; a GSI may drive one pin of each chip. */
public record IrqchipRoute(int gsi, Irqchip chip, int pin) implements GsiRoute {
    public IrqchipRoute {
        if (gsi < 0) {
            throw new IllegalArgumentException("GSI " + gsi + " is negative");
        }
        if (pin < 0 || pin >= chip.pins()) {
            throw new IllegalArgumentException(chip + " has no pin " + pin + " (it has " + chip.pins() + ")");
        }
    }
}
