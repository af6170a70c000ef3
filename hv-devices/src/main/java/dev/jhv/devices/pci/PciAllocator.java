package dev.jhv.devices.pci;

import dev.jhv.devices.DeviceException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Places {@code -device} functions on bus 0 and, for a boot without firmware, does what SeaBIOS would do to
 * the bus before the kernel runs: BAR addresses, decode and bus-master enables, PIRQ routes, interrupt lines.
 */
public final class PciAllocator {
    /** Slots 0 and 1 hold the host bridge and the PIIX3; QEMU's {@code pc} hands out slots from 2. */
    public static final int FIRST_FREE_SLOT = 2;
    /** The ISA IRQs SeaBIOS routes PIRQA–PIRQD to on a PIIX3. */
    public static final List<Integer> FIRMWARE_PIRQ_IRQS = List.of(10, 10, 11, 11);
    /** Where SeaBIOS starts I/O BARs. */
    public static final long IO_START = 0xc000;

    /**
     * Where BARs go: I/O from {@code ioStart} below 64 KiB, 32-bit memory in [{@code mem32Start},
     * {@code mem32End}), 64-bit memory from {@code mem64Start} up.
     */
    public record Layout(long ioStart, long mem32Start, long mem32End, long mem64Start) {
        public Layout {
            if (ioStart <= 0 || ioStart > 0xffff || mem32Start <= 0 || mem32End <= mem32Start
                    || mem32End > 1L << 32 || mem64Start < 1L << 32) {
                throw new IllegalArgumentException("PCI layout " + this + " is not usable");
            }
        }
    }

    private final PciBus bus;

    public PciAllocator(PciBus bus) {
        this.bus = Objects.requireNonNull(bus, "bus");
    }

    /**
     * Puts {@code f} at {@code addr} (QEMU's {@code addr=slot[.function]}), or at function 0 of the first free
     * slot from 2.
     *
     * @param driver the {@code -device} driver name for messages ("e1000")
     * @throws DeviceException when the place is taken (naming the slot and what holds it) or no slot is left
     */
    public PciAddress place(PciFunction f, String driver, String id, Optional<PciAddress> addr) {
        PciAddress at = addr.orElseGet(() -> freeSlot(driver));
        PciFunction holder = bus.function(at.devfn());
        if (holder != null) {
            throw new DeviceException(String.format("PCI: slot %d function %d not available for %s, in use by %s",
                    at.slot(), at.function(), driver, holder.name()));
        }
        bus.add(at, f, id);
        return at;
    }

    private PciAddress freeSlot(String driver) {
        for (int slot = FIRST_FREE_SLOT; slot < 32; slot++) {
            if (!bus.slotInUse(slot)) {
                return new PciAddress(0, slot, 0);
            }
        }
        throw new DeviceException("PCI: no free slot on bus 0 for " + driver);
    }

    /**
     * The firmware's work for a direct kernel boot: each function's own setup
     * ({@link PciFunction#configureWithoutFirmware}: the PIIX3 routes PIRQA–D to 10, 10, 11, 11), then BARs
     * largest first, each aligned to its size (I/O, 32-bit memory, 64-bit memory; expansion ROMs stay off),
     * I/O and memory decode and bus mastering on for functions with BARs, and each pin's interrupt line.
     *
     * @throws DeviceException when the BARs do not fit the layout
     */
    public void configureWithoutFirmware(Layout layout) {
        List<PciFunction> functions = bus.functions();
        for (PciFunction f : functions) {
            synchronized (f) {
                f.configureWithoutFirmware();
            }
        }
        record Want(PciFunction f, PciBar bar) { }
        List<Want> io = new ArrayList<>();
        List<Want> mem32 = new ArrayList<>();
        List<Want> mem64 = new ArrayList<>();
        for (PciFunction f : functions) {
            for (PciBar b : f.bars()) {
                switch (b.kind()) {
                    case IO -> io.add(new Want(f, b));
                    case MEMORY32 -> mem32.add(new Want(f, b));
                    case MEMORY64 -> mem64.add(new Want(f, b));
                    case ROM -> { }
                }
            }
        }
        Comparator<Want> largestFirst = Comparator.comparingLong((Want w) -> w.bar().size()).reversed();
        long[] next = {layout.ioStart(), layout.mem32Start(), layout.mem64Start()};
        long[] end = {0x10000, layout.mem32End(), Long.MAX_VALUE};
        List<List<Want>> kinds = List.of(io, mem32, mem64);
        for (int k = 0; k < 3; k++) {
            List<Want> list = new ArrayList<>(kinds.get(k));
            list.sort(largestFirst);
            for (Want w : list) {
                long size = w.bar().size();
                long at = (next[k] + size - 1) & -size;
                if (at + size > end[k] || at + size < at) {
                    throw new DeviceException(String.format("PCI: %s (0x%x bytes) does not fit below 0x%x",
                            w.bar().window.name(), size, end[k]));
                }
                next[k] = at + size;
                int reg = w.bar().register();
                w.f().configWrite(reg, 4, (int) at);
                if (w.bar().kind() == PciBar.Kind.MEMORY64) {
                    w.f().configWrite(reg + 4, 4, (int) (at >>> 32));
                }
            }
        }
        PciIrqRouter router = bus.router();
        for (PciFunction f : functions) {
            int command = f.configRead(PciConfigSpace.COMMAND, 2);
            boolean anyIo = false;
            boolean anyMemory = false;
            for (PciBar b : f.bars()) {
                anyIo |= b.kind() == PciBar.Kind.IO;
                anyMemory |= b.kind() == PciBar.Kind.MEMORY32 || b.kind() == PciBar.Kind.MEMORY64;
            }
            if (anyIo || anyMemory) {
                command |= PciConfigSpace.COMMAND_MASTER | (anyIo ? PciConfigSpace.COMMAND_IO : 0)
                        | (anyMemory ? PciConfigSpace.COMMAND_MEMORY : 0);
                f.configWrite(PciConfigSpace.COMMAND, 2, command);
            }
            int pin = f.interruptPin();
            if (pin != 0) {
                int irq = router.route(PciIrqRouter.pirq(f.address().slot(), pin - 1));
                int line;
                synchronized (f) {
                    line = f.firmwareInterruptLine(irq < 0 ? 0xff : irq);
                }
                f.configWrite(PciConfigSpace.INTERRUPT_LINE, 1, line);
            }
        }
    }
}
