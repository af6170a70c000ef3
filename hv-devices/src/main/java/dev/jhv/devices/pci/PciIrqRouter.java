package dev.jhv.devices.pci;

import dev.jhv.core.irq.IrqLine;

import java.util.Objects;
import java.util.function.IntFunction;

/**
 * PCI INTx to ISA IRQs as on a PIIX3 board: each function's pin lands on one of the four PIRQ lines by the
 * slot swizzle of QEMU's {@code pc}, and each PIRQ drives the ISA IRQ its PIRQRC register names. PCI
 * interrupts are shared levels: a PIRQ is asserted while any function on it asserts, an IRQ while any PIRQ
 * routed to it does. Rerouting a PIRQ moves its level from the old IRQ to the new one.
 */
public final class PciIrqRouter {
    public static final int PIRQS = 4;
    public static final int ISA_IRQS = 16;

    private final IntFunction<IrqLine> isaIrqs;
    private final IrqLine[] lines = new IrqLine[ISA_IRQS];
    /** Per PIRQ, which devfns assert it (256 bits). */
    private final long[][] sources = new long[PIRQS][4];
    /** Per PIRQ, its ISA IRQ or -1. */
    private final int[] routes = {-1, -1, -1, -1};
    private final boolean[] driven = new boolean[ISA_IRQS];

    /** @param isaIrqs the board's line for an ISA IRQ (0..15), asked once per IRQ when first used */
    public PciIrqRouter(IntFunction<IrqLine> isaIrqs) {
        this.isaIrqs = Objects.requireNonNull(isaIrqs, "isaIrqs");
    }

    /**
     * The PIRQ a slot's pin reaches on QEMU's {@code pc} board: {@code (slot - 1 + pin) & 3}, pin 0 = INTA#.
     * So slot 1 INTA# is PIRQA, slot 2 INTA# PIRQB, slot 3 INTA# PIRQC.
     */
    public static int pirq(int slot, int pin) {
        return (slot - 1 + pin) & 3;
    }

    /** A function (by devfn) asserts or releases {@code pirq}. */
    public synchronized void setLevel(int devfn, int pirq, boolean level) {
        long bit = 1L << (devfn & 63);
        if (level) {
            sources[pirq][(devfn >>> 6) & 3] |= bit;
        } else {
            sources[pirq][(devfn >>> 6) & 3] &= ~bit;
        }
        update();
    }

    /** Routes {@code pirq} to {@code isaIrq} (0..15), or nowhere (-1). */
    public synchronized void route(int pirq, int isaIrq) {
        if (isaIrq < -1 || isaIrq >= ISA_IRQS) {
            throw new IllegalArgumentException("ISA IRQ " + isaIrq + " is not 0..15 or -1");
        }
        routes[pirq] = isaIrq;
        update();
    }

    /** The ISA IRQ {@code pirq} drives, or -1. */
    public synchronized int route(int pirq) {
        return routes[pirq];
    }

    public synchronized boolean pirqAsserted(int pirq) {
        long[] s = sources[pirq];
        return (s[0] | s[1] | s[2] | s[3]) != 0;
    }

    /** Whether this router holds {@code isaIrq} asserted. */
    public synchronized boolean irqAsserted(int isaIrq) {
        return driven[isaIrq];
    }

    private void update() {
        boolean[] want = new boolean[ISA_IRQS];
        for (int p = 0; p < PIRQS; p++) {
            if (routes[p] >= 0 && pirqAsserted(p)) {
                want[routes[p]] = true;
            }
        }
        // Lower before raising, so a moved level is never on two IRQs at once.
        for (int pass = 0; pass < 2; pass++) {
            for (int irq = 0; irq < ISA_IRQS; irq++) {
                if (want[irq] != driven[irq] && want[irq] == (pass == 1)) {
                    driven[irq] = want[irq];
                    line(irq).setLevel(want[irq]);
                }
            }
        }
    }

    private IrqLine line(int irq) {
        if (lines[irq] == null) {
            lines[irq] = Objects.requireNonNull(isaIrqs.apply(irq), "no line for IRQ " + irq);
        }
        return lines[irq];
    }
}
