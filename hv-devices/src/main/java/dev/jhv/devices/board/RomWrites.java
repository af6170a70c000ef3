package dev.jhv.devices.board;

import dev.jhv.core.bus.BusHandler;

/** Where a guest's writes to ROM go: nowhere, as on a PC (KVM exits on a read-only slot's write). */
final class RomWrites implements BusHandler {
    static final RomWrites DROPPED = new RomWrites();

    @Override
    public long read(long offset, int size) {
        return size == 8 ? -1L : (1L << (size * 8)) - 1;
    }

    @Override
    public void write(long offset, int size, long value) {
    }
}
