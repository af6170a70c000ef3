package dev.jhv.core.irq;

/** Where raising a GSI goes: a pin of an in-kernel irqchip, or an MSI write. */
public sealed interface GsiRoute permits IrqchipRoute, MsiRoute {
    int gsi();
}
