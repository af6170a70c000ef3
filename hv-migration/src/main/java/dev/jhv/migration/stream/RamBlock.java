package dev.jhv.migration.stream;

import java.lang.foreign.MemorySegment;

/** A named piece of guest RAM (QEMU's RAMBlock idstr), backed by the segment KVM maps. */
public record RamBlock(String name, MemorySegment segment) {
    public RamBlock {
        if (name == null || name.isEmpty() || name.length() > 255) {
            throw new IllegalArgumentException("RAM block name must be 1..255 characters");
        }
        if (segment.byteSize() % RamSectionWriter.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("RAM block '" + name + "' is not a whole number of pages");
        }
    }

    public long size() {
        return segment.byteSize();
    }
}
