package dev.jhv.devices.board;

import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.memory.RamAllocator;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The PC's system BIOS ROM (SeaBIOS): the whole image read-only just below 4 GiB, where the CPU fetches its reset
 * vector, and its last 128 KiB also behind 0xE0000–0xFFFFF (the "isa-bios" alias), where the shadow RAM under the
 * PAM registers lets it through until the firmware copies itself into RAM.
 */
public final class FirmwareImage implements AutoCloseable {
    /** The legacy alias of the top of the ROM: 0xE0000–0xFFFFF. */
    public static final long ISA_BIOS_BASE = 0xE0000;
    public static final long ISA_BIOS_SIZE = 128 * 1024;
    private static final long FOUR_GIB = 1L << 32;
    /** The largest ROM the region below 4 GiB holds without reaching the IOAPIC/LAPIC area (16 MiB, as QEMU). */
    private static final long MAX_SIZE = 16L << 20;

    private final Path file;
    private final MemorySegment rom;

    private FirmwareImage(Path file, MemorySegment rom) {
        this.file = file;
        this.rom = rom;
    }

    /** Reads {@code file}: a size that is a multiple of 64 KiB, at least 128 KiB, at most 16 MiB (as QEMU asks). */
    public static FirmwareImage load(Path file) {
        long size;
        byte[] bytes;
        try {
            size = Files.size(file);
            if (size % 65536 != 0 || size < ISA_BIOS_SIZE || size > MAX_SIZE) {
                throw new BoardException("could not load PC BIOS '" + file + "': its size (" + size
                        + " bytes) is not a multiple of 64 KiB between 128 KiB and 16 MiB");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new BoardException("could not load PC BIOS '" + file + "'"
                    + (e instanceof java.nio.file.NoSuchFileException ? ": no such file" : ": " + e.getMessage()));
        }
        MemorySegment rom = RamAllocator.map(size);
        rom.copyFrom(MemorySegment.ofArray(bytes));
        return new FirmwareImage(file, rom);
    }

    public Path file() {
        return file;
    }

    public long size() {
        return rom.byteSize();
    }

    /** The ROM's last 128 KiB, which the isa-bios alias shows. */
    public MemorySegment isaBios() {
        return rom.asSlice(rom.byteSize() - ISA_BIOS_SIZE, ISA_BIOS_SIZE);
    }

    /** Maps the whole ROM read-only at 4 GiB minus its size; writes to it exit and are dropped. */
    public void mapHigh(Machine m) {
        m.vm().setUserMemoryRegion(m.newMemorySlot(), KvmIoctls.MEM_READONLY, FOUR_GIB - rom.byteSize(), rom);
        m.mmioBus().register(FOUR_GIB - rom.byteSize(), rom.byteSize(), "pc.bios", RomWrites.DROPPED);
    }

    @Override
    public void close() {
        RamAllocator.unmap(rom);
    }
}
