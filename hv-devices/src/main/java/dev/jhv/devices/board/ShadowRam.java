package dev.jhv.devices.board;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.machine.Machine;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The RAM at 0xC0000–0xFFFFF behind the i440FX's PAM registers: per region (16 KiB below 0xF0000, 64 KiB at
 * 0xF0000), reads come from RAM or from what lies below it (the BIOS ROM's isa-bios alias from 0xE0000, nothing
 * below that), and writes go to RAM or nowhere. KVM cannot split reads from writes on one page, so each region is
 * one memory slot: RAM read-write, RAM read-only, or the ROM read-only, and the writes KVM cannot take (a
 * read-only slot, or no slot) exit to the one MMIO handler here, which puts them in RAM when the mode writes.
 */
public final class ShadowRam implements BusHandler {
    public static final long BASE = 0xC0000;
    public static final long SIZE = 0x40000;
    private static final long ROM_ALIAS_START = FirmwareImage.ISA_BIOS_BASE;

    /** A PAM nibble's read-enable and write-enable bits. */
    public record Mode(boolean read, boolean write) {
        public static final Mode DISABLED = new Mode(false, false);
        public static final Mode READ_WRITE = new Mode(true, true);
    }

    private record Region(long base, long size, int slot) { }

    private static final Region[] NO_REGIONS = new Region[0];

    private final KvmVm vm;
    private final MemorySegment ram;
    private final MemorySegment isaBios;
    private final Region[] regions;
    private final Mode[] modes;
    /** Whether each region's slot is in KVM (a region neither readable from RAM nor from ROM has none). */
    private final boolean[] mapped;

    /**
     * @param ram     the guest RAM behind 0xC0000–0xFFFFF (a region the machine left to the board to map)
     * @param isaBios the ROM's last 128 KiB, shown at 0xE0000 where the RAM is not read-enabled
     */
    public ShadowRam(Machine m, MemorySegment ram, MemorySegment isaBios) {
        if (ram.byteSize() != SIZE || isaBios.byteSize() != FirmwareImage.ISA_BIOS_SIZE) {
            throw new IllegalArgumentException("shadow RAM must be 256 KiB over a 128 KiB isa-bios");
        }
        this.vm = m.vm();
        this.ram = ram;
        this.isaBios = isaBios;
        var list = new java.util.ArrayList<Region>();
        for (long b = BASE; b < 0xF0000; b += 0x4000) {
            list.add(new Region(b, 0x4000, m.newMemorySlot()));
        }
        list.add(new Region(0xF0000, 0x10000, m.newMemorySlot()));
        this.regions = list.toArray(NO_REGIONS);
        this.modes = new Mode[regions.length];
        this.mapped = new boolean[regions.length];
        m.mmioBus().register(BASE, SIZE, "pc.shadow-ram", this);
        for (int i = 0; i < regions.length; i++) {
            modes[i] = Mode.READ_WRITE; // so that the first setMode maps it
            setMode(regions[i].base(), Mode.DISABLED);
        }
    }

    /** The mode of the region starting at {@code base} (one of the PAM regions). */
    public synchronized void setMode(long base, Mode mode) {
        int i = index(base);
        if (regions[i].base() != base) {
            throw new IllegalArgumentException(String.format("0x%x is not the start of a PAM region", base));
        }
        if (mode.equals(modes[i])) {
            return;
        }
        Region r = regions[i];
        if (mapped[i]) {
            vm.deleteUserMemoryRegion(r.slot());
            mapped[i] = false;
        }
        MemorySegment below = r.base() >= ROM_ALIAS_START
                ? isaBios.asSlice(r.base() - ROM_ALIAS_START, r.size()) : null;
        MemorySegment own = ram.asSlice(r.base() - BASE, r.size());
        if (mode.read()) {
            vm.setUserMemoryRegion(r.slot(), mode.write() ? 0 : KvmIoctls.MEM_READONLY, r.base(), own);
            mapped[i] = true;
        } else if (below != null) {
            vm.setUserMemoryRegion(r.slot(), KvmIoctls.MEM_READONLY, r.base(), below);
            mapped[i] = true;
        }
        modes[i] = mode;
    }

    /** Power-on: every region reads what lies below the RAM (the PAM registers' reset value, 0). */
    public synchronized void reset() {
        for (Region r : regions) {
            setMode(r.base(), Mode.DISABLED);
        }
    }

    public synchronized Mode mode(long base) {
        return modes[index(base)];
    }

    private int index(long addr) {
        long off = addr - BASE;
        if (off < 0 || off >= SIZE) {
            throw new IllegalArgumentException(String.format("0x%x is outside the shadow RAM", addr));
        }
        return off < 0x30000 ? (int) (off / 0x4000) : regions.length - 1;
    }

    /** Reached only where no slot reads (a region neither RAM- nor ROM-readable): the bus floats high. */
    @Override
    public long read(long offset, int size) {
        return size == 8 ? -1L : (1L << (size * 8)) - 1;
    }

    /** Reached where the slot is read-only or absent: the write lands in RAM if the region's mode writes. */
    @Override
    public void write(long offset, int size, long value) {
        Mode mode;
        synchronized (this) {
            mode = modes[index(BASE + offset)];
        }
        if (!mode.write() || offset + size > SIZE) {
            return;
        }
        for (int b = 0; b < size; b++) {
            ram.set(ValueLayout.JAVA_BYTE, offset + b, (byte) (value >>> (8 * b)));
        }
    }
}
