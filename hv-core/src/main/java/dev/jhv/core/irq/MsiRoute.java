package dev.jhv.core.irq;

/**
 * Raising GSI {@code gsi} writes {@code data} to the MSI address {@code addressHi:addressLo} (on x86 0xfeeXXXXX:
 * destination APIC id in bits 19:12), as a device's MSI or MSI-X table entry says. An MSI GSI has no other route.
 */
public record MsiRoute(int gsi, int addressLo, int addressHi, int data) implements GsiRoute {
    public MsiRoute {
        if (gsi < 0) {
            throw new IllegalArgumentException("GSI " + gsi + " is negative");
        }
    }

    @Override
    public String toString() {
        return String.format("MsiRoute[gsi=%d, address=0x%x_%08x, data=0x%x]", gsi, addressHi, addressLo, data);
    }
}
