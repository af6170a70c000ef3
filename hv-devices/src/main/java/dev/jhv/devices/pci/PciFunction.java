package dev.jhv.devices.pci;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.device.Device;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The base of a PCI function: its configuration space, BARs and interrupt pin. A device fills its header and
 * BARs in its constructor; once on a {@link PciBus}, the guest reaches it through the configuration mechanism,
 * the BARs appear on the I/O and memory buses as the command register and the BAR registers say, and
 * {@link #setIntx} drives its pin into the bus's INTx routing.
 *
 * <p>Subclasses that hold state implement {@code Stateful} and put {@link #pciState} in their record (QEMU's
 * "PCIDevice"), giving it back through {@link #restorePci}.
 */
public abstract class PciFunction implements Device {
    private static final System.Logger LOG = System.getLogger(PciFunction.class.getName());

    private final String name;
    protected final PciConfigSpace config;
    private final PciBar[] bars = new PciBar[PciBar.ROM_INDEX + 1];
    private final List<PciWindow> windows = new ArrayList<>();
    private PciBus bus;
    private PciAddress address;
    /** The configuration bytes as built: what a reset brings back. */
    private byte[] powerOn;
    /** The level the device asks for on its pin. */
    private boolean intxRequest;
    /** The level last given to the bus (the request unless the command register disables INTx). */
    private boolean intxDriven;

    /**
     * @param name         the function's name in messages and on the buses ("e1000", "PIIX3")
     * @param interruptPin 0 for none, 1..4 for INTA#..INTD#
     */
    protected PciFunction(String name, PciIdentity id, int headerType, int interruptPin) {
        this.name = Objects.requireNonNull(name, "name");
        this.config = new PciConfigSpace(id, headerType, interruptPin);
    }

    public final String name() {
        return name;
    }

    @Override
    public String id() {
        return name;
    }

    /** Where the function sits, or null before it is on a bus. */
    public final synchronized PciAddress address() {
        return address;
    }

    public final int interruptPin() {
        return config.get8(PciConfigSpace.INTERRUPT_PIN);
    }

    // ---- BARs (in the constructor) ----

    protected final PciBar ioBar(int index, int size, BusHandler handler) {
        return addBar(new PciBar(index, PciBar.Kind.IO, size, false, name + " BAR" + index, handler));
    }

    protected final PciBar memoryBar(int index, long size, boolean prefetchable, BusHandler handler) {
        return addBar(new PciBar(index, PciBar.Kind.MEMORY32, size, prefetchable, name + " BAR" + index, handler));
    }

    /** A 64-bit memory BAR: registers {@code index} (low half) and {@code index + 1} (high half). */
    protected final PciBar memory64Bar(int index, long size, boolean prefetchable, BusHandler handler) {
        return addBar(new PciBar(index, PciBar.Kind.MEMORY64, size, prefetchable, name + " BAR" + index, handler));
    }

    /**
     * The expansion ROM (register 0x30, enable bit 0): {@code image} served read-only, the size the next power
     * of two of at least 2 KiB (the rest reads 0).
     */
    protected final PciBar expansionRom(byte[] image) {
        long size = Math.max(2048, Long.highestOneBit(Math.max(1, image.length - 1)) << 1);
        return addBar(new PciBar(PciBar.ROM_INDEX, PciBar.Kind.ROM, size, false, name + " ROM",
                new RomHandler(image.clone())));
    }

    private synchronized PciBar addBar(PciBar bar) {
        if (powerOn != null) {
            throw new IllegalStateException(name + ": BARs are added before the function is on a bus");
        }
        for (PciBar other : bars) {
            if (other != null && (other.covers(bar.register(), bar.kind() == PciBar.Kind.MEMORY64 ? 8 : 4))) {
                throw new IllegalArgumentException(name + ": BAR" + bar.index() + " overlaps BAR" + other.index());
            }
        }
        bar.install(config);
        bars[bar.index()] = bar;
        windows.add(bar.window);
        return bar;
    }

    /** A window placed by a device register rather than a BAR (see {@link #placeWindow}). */
    protected final PciWindow window(String windowName, PciWindow.Space space, long length, BusHandler handler) {
        var w = new PciWindow(windowName, space, length, handler);
        synchronized (this) {
            if (powerOn != null) {
                throw new IllegalStateException(name + ": windows are added before the function is on a bus");
            }
            windows.add(w);
        }
        return w;
    }

    /** Maps {@code w} at {@code base}, or unmaps it for -1 (moves it when it was elsewhere). */
    protected final void placeWindow(PciWindow w, long base) {
        PciBus b;
        synchronized (this) {
            b = bus;
        }
        if (b != null) {
            b.place(w, base);
        }
    }

    /** The BARs, ROM last, in register order. */
    public final synchronized List<PciBar> bars() {
        List<PciBar> list = new ArrayList<>();
        for (PciBar b : bars) {
            if (b != null) {
                list.add(b);
            }
        }
        return List.copyOf(list);
    }

    final synchronized List<PciWindow> windows() {
        return List.copyOf(windows);
    }

    // ---- the bus ----

    final synchronized void attach(PciBus bus, PciAddress address) {
        if (this.bus != null) {
            throw new IllegalStateException(name + " is already at " + this.address);
        }
        this.bus = bus;
        this.address = address;
        powerOn = config.snapshot();
    }

    /** The bus sets the multi-function bit on function 0 when its slot gets a second function. */
    final synchronized void markMultiFunction() {
        int h = config.get8(PciConfigSpace.HEADER_TYPE) | PciConfigSpace.HEADER_MULTI_FUNCTION;
        config.set8(PciConfigSpace.HEADER_TYPE, h);
        if (powerOn != null) {
            powerOn[PciConfigSpace.HEADER_TYPE] = (byte) h;
        }
    }

    // ---- guest accesses ----

    /** A configuration read of 1, 2 or 4 bytes from {@code reg}. */
    public final synchronized int configRead(int reg, int size) {
        configReading(reg, size);
        return config.read(reg, size);
    }

    /** Called before a guest read of [reg, reg + size), with the function's lock held (a register read through). */
    protected void configReading(int reg, int size) {
    }

    /** A configuration write: masks applied, then BARs, INTx and the device follow the new values. */
    public final synchronized void configWrite(int reg, int size, int value) {
        config.write(reg, size, value);
        boolean header = reg < PciConfigSpace.DEVICE_SPECIFIC;
        if (header) {
            remapBars();
            driveIntx();
        }
        configWritten(reg, size);
    }

    /** Called after a guest write to [reg, reg + size), with the function's lock held. */
    protected void configWritten(int reg, int size) {
    }

    /**
     * Called after the whole configuration space was replaced (reset, restore), with the lock held: re-apply
     * whatever the device derives from its registers.
     */
    protected void configRestored() {
    }

    private void remapBars() {
        if (bus == null) {
            return;
        }
        for (PciBar b : bars) {
            if (b != null) {
                bus.place(b.window, b.decoded(config));
            }
        }
    }

    // ---- INTx ----

    /**
     * The device's interrupt request on its pin: shown in the status register's interrupt bit and driven into
     * the routing unless the command register's INTx-disable bit is set.
     */
    public final synchronized void setIntx(boolean level) {
        if (interruptPin() == 0) {
            return;
        }
        intxRequest = level;
        int status = config.get16(PciConfigSpace.STATUS);
        config.set16(PciConfigSpace.STATUS, level ? status | PciConfigSpace.STATUS_INTERRUPT
                : status & ~PciConfigSpace.STATUS_INTERRUPT);
        driveIntx();
    }

    public final synchronized boolean intxRequested() {
        return intxRequest;
    }

    private void driveIntx() {
        boolean level = intxRequest
                && (config.get16(PciConfigSpace.COMMAND) & PciConfigSpace.COMMAND_INTX_DISABLE) == 0;
        if (level != intxDriven && bus != null) {
            intxDriven = level;
            bus.intx(address, interruptPin(), level);
        }
    }

    // ---- firmware-less setup ----

    /**
     * What firmware would set in device registers before a direct kernel boot (the PIIX4's PM base, the PIIX3's
     * PIRQ routes). Runs before BARs are assigned. Default: nothing.
     */
    protected void configureWithoutFirmware() {
    }

    /** The interrupt line firmware writes for this function, given the ISA IRQ its pin is routed to. */
    protected int firmwareInterruptLine(int routedIrq) {
        return routedIrq;
    }

    // ---- reset and state ----

    /** Power-on configuration, BARs unmapped, INTx deasserted. Subclasses call this first. */
    @Override
    public void reset() {
        synchronized (this) {
            if (powerOn == null) {
                powerOn = config.snapshot();
            }
            intxRequest = false;
            config.load(powerOn);
            remapBars();
            driveIntx();
            configRestored();
        }
    }

    /** The configuration bytes and the pin's level, for the device's state record. */
    protected final synchronized PciDeviceState pciState() {
        int[] irq = new int[PciDeviceState.PINS];
        int pin = interruptPin();
        if (pin != 0 && intxRequest) {
            irq[pin - 1] = 1;
        }
        return new PciDeviceState(config.snapshot(), irq);
    }

    /**
     * Checks {@code s} (lengths, the bytes this function's make fixes, the pin levels), then puts it in: BARs
     * move to the restored addresses, INTx takes the restored level, {@link #configRestored} runs.
     *
     * @throws IllegalArgumentException naming the field that cannot be this function's
     */
    protected final void restorePci(PciDeviceState s) {
        synchronized (this) {
            checkPci(s);
            byte[] bytes = s.config();
            config.load(bytes);
            int pin = interruptPin();
            intxRequest = pin != 0 && s.irqState()[pin - 1] != 0;
            int status = config.get16(PciConfigSpace.STATUS) & ~PciConfigSpace.STATUS_INTERRUPT;
            config.set16(PciConfigSpace.STATUS, status | (intxRequest ? PciConfigSpace.STATUS_INTERRUPT : 0));
            remapBars();
            driveIntx();
            configRestored();
        }
    }

    /** Throws when {@code s} cannot be this function's state; see {@link #restorePci}. */
    protected final synchronized void checkPci(PciDeviceState s) {
        byte[] bytes = s.config();
        if (bytes.length != PciConfigSpace.SIZE) {
            throw new IllegalArgumentException(name + ": PCIDevice field 'config' has " + bytes.length
                    + " bytes, expected " + PciConfigSpace.SIZE);
        }
        int[] irq = s.irqState();
        if (irq.length != PciDeviceState.PINS) {
            throw new IllegalArgumentException(name + ": PCIDevice field 'irq_state' has " + irq.length
                    + " entries, expected " + PciDeviceState.PINS);
        }
        int pin = interruptPin();
        for (int i = 0; i < irq.length; i++) {
            if (irq[i] != 0 && (irq[i] != 1 || i != pin - 1)) {
                throw new IllegalArgumentException(String.format("%s: PCIDevice field 'irq_state[%d]' is %d, "
                        + "but the function's pin is %s", name, i, irq[i], pin == 0 ? "none" : "INT" + (char) ('A' + pin - 1)));
            }
        }
        for (int r = 0; r < PciConfigSpace.SIZE; r++) {
            int m = config.fixedMask(r);
            int have = config.get8(r);
            if (r == PciConfigSpace.HEADER_TYPE) {
                m &= ~PciConfigSpace.HEADER_MULTI_FUNCTION;
            }
            if (((bytes[r] ^ have) & m) != 0) {
                throw new IllegalArgumentException(String.format(
                        "%s: PCIDevice field 'config' byte 0x%02x is 0x%02x, this function's is fixed at 0x%02x",
                        name, r, bytes[r] & 0xff, have & m));
            }
        }
    }

    /** Serves an expansion ROM image; writes are ignored. */
    private record RomHandler(byte[] image) implements BusHandler {
        @Override
        public long read(long offset, int size) {
            long v = 0;
            for (int i = 0; i < size; i++) {
                long at = offset + i;
                long b = at >= 0 && at < image.length ? image[(int) at] & 0xff : 0;
                v |= b << (8 * i);
            }
            return v;
        }

        @Override
        public void write(long offset, int size, long value) {
            // read-only
        }
    }

    @Override
    public String toString() {
        return name + "@" + address;
    }

    static System.Logger log() {
        return LOG;
    }
}
