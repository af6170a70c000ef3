package dev.jhv.devices.pci;

import dev.jhv.core.bus.BusHandler;

import java.util.Objects;

/**
 * A range of I/O or memory space a function decodes: a BAR's, or a chipset register block placed by a
 * device-specific base register (the PIIX4's PMBA). Its owner says where it should be ({@link PciBus#place});
 * the bus registers it there, or leaves it unmapped while something else holds the range.
 */
public final class PciWindow {
    public enum Space { IO, MEMORY }

    static final long UNMAPPED = -1;

    final String name;
    final Space space;
    final long length;
    final BusHandler handler;

    // Guarded by the PciBus.
    long wanted = UNMAPPED;
    volatile long mapped = UNMAPPED;
    boolean conflictLogged;

    public PciWindow(String name, Space space, long length, BusHandler handler) {
        this.name = Objects.requireNonNull(name, "name");
        this.space = Objects.requireNonNull(space, "space");
        this.handler = Objects.requireNonNull(handler, "handler");
        if (length <= 0) {
            throw new IllegalArgumentException(name + ": window length " + length);
        }
        this.length = length;
    }

    public String name() {
        return name;
    }

    public Space space() {
        return space;
    }

    public long length() {
        return length;
    }

    /** Where the window is registered, or -1. */
    public long base() {
        return mapped;
    }
}
