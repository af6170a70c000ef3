package dev.jhv.core.bus;

/**
 * A device's view of an address range on the port I/O or MMIO bus.
 * Offsets are relative to the base the handler was registered at; sizes are 1, 2, 4 or 8 bytes.
 * Values are little-endian, zero-extended to a long.
 */
public interface BusHandler {
    long read(long offset, int size);

    void write(long offset, int size, long value);
}
