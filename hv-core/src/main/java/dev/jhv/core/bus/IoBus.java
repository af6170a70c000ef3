package dev.jhv.core.bus;

/** The x86 port I/O space (64 KiB of ports). */
public final class IoBus extends Bus {
    public IoBus() {
        super("ioport");
    }
}
