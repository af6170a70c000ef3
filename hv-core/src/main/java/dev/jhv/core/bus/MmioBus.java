package dev.jhv.core.bus;

/** Guest-physical addresses not backed by RAM, served by device models. */
public final class MmioBus extends Bus {
    public MmioBus() {
        super("mmio");
    }
}
