package dev.jhv.devices.pci;

import dev.jhv.core.bus.Bus;
import dev.jhv.core.bus.IoBus;
import dev.jhv.core.bus.MmioBus;
import dev.jhv.devices.DeviceException;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * PCI bus 0 of a PC: up to 256 functions by devfn, their BAR windows on the I/O and memory buses, their INTx
 * pins into a {@link PciIrqRouter}. A configuration access to a function that is not there reads all ones
 * and a write is dropped, as a master abort does.
 */
public final class PciBus {
    private static final System.Logger LOG = System.getLogger(PciBus.class.getName());

    private final IoBus io;
    private final MmioBus mmio;
    private final PciIrqRouter router;
    private final PciFunction[] functions = new PciFunction[256];
    private final String[] ids = new String[256];
    /** Every window of every function, so remapping never needs a function's lock. */
    private final List<PciWindow> windows = new ArrayList<>();

    public PciBus(IoBus io, MmioBus mmio, PciIrqRouter router) {
        this.io = Objects.requireNonNull(io, "io");
        this.mmio = Objects.requireNonNull(mmio, "mmio");
        this.router = Objects.requireNonNull(router, "router");
    }

    public PciIrqRouter router() {
        return router;
    }

    /** Puts {@code f} at {@code at} with an empty qdev id. */
    public void add(PciAddress at, PciFunction f) {
        add(at, f, "");
    }

    /**
     * Puts {@code f} at {@code at}; {@code id} is the {@code -device ...,id=} name ({@code info pci} shows it).
     * A slot with more than one function gets the multi-function bit in function 0's header type.
     *
     * @throws DeviceException when the place is taken, naming what holds it
     */
    public void add(PciAddress at, PciFunction f, String id) {
        Objects.requireNonNull(f, "function");
        if (at.bus() != 0) {
            throw new DeviceException("PCI: bus " + at.bus() + " does not exist for " + f.name()
                    + " (there are no PCI bridges)");
        }
        PciFunction first;
        synchronized (this) {
            PciFunction other = functions[at.devfn()];
            if (other != null) {
                throw new DeviceException(String.format("PCI: slot %d function %d not available for %s, in use by %s",
                        at.slot(), at.function(), f.name(), other.name()));
            }
            f.attach(this, at);
            functions[at.devfn()] = f;
            ids[at.devfn()] = Objects.requireNonNullElse(id, "");
            windows.addAll(f.windows());
            first = slotHasOthers(at.slot()) ? functions[at.slot() << 3] : null;
        }
        if (first != null) {
            first.markMultiFunction();
        }
        f.reset();
    }

    private boolean slotHasOthers(int slot) {
        for (int fn = 1; fn < 8; fn++) {
            if (functions[slot << 3 | fn] != null) {
                return true;
            }
        }
        return false;
    }

    public synchronized PciFunction function(int devfn) {
        return functions[devfn & 0xff];
    }

    public synchronized boolean slotInUse(int slot) {
        for (int fn = 0; fn < 8; fn++) {
            if (functions[slot << 3 | fn] != null) {
                return true;
            }
        }
        return false;
    }

    /** The functions in devfn order. */
    public synchronized List<PciFunction> functions() {
        List<PciFunction> list = new ArrayList<>();
        for (PciFunction f : functions) {
            if (f != null) {
                list.add(f);
            }
        }
        return List.copyOf(list);
    }

    synchronized String qdevId(int devfn) {
        return ids[devfn];
    }

    /** A configuration read as the host bridge forwards it; absent bus or function: all ones. */
    public int configRead(int busNumber, int devfn, int reg, int size) {
        PciFunction f = busNumber == 0 ? function(devfn) : null;
        if (f == null) {
            return size >= 4 ? -1 : (1 << (8 * size)) - 1;
        }
        return f.configRead(reg, size);
    }

    public void configWrite(int busNumber, int devfn, int reg, int size, int value) {
        PciFunction f = busNumber == 0 ? function(devfn) : null;
        if (f != null) {
            f.configWrite(reg, size, value);
        }
    }

    // ---- windows ----

    /**
     * Wants {@code w} at {@code base} (-1: nowhere). A range something else holds leaves the window unmapped
     * (logged once) until that range is freed by a window of this bus.
     */
    synchronized void place(PciWindow w, long base) {
        w.wanted = base;
        if (w.mapped == base) {
            return;
        }
        boolean freed = false;
        if (w.mapped != PciWindow.UNMAPPED) {
            space(w).unregister(w.mapped);
            w.mapped = PciWindow.UNMAPPED;
            freed = true;
        }
        tryMap(w);
        if (freed) {
            // A range came free: windows that were refused it may fit now (a restore moves BARs one by one).
            for (PciWindow other : windows) {
                if (other.wanted != PciWindow.UNMAPPED && other.mapped == PciWindow.UNMAPPED) {
                    tryMap(other);
                }
            }
        }
    }

    private void tryMap(PciWindow w) {
        if (w.wanted == PciWindow.UNMAPPED) {
            return;
        }
        try {
            space(w).register(w.wanted, w.length, w.name, w.handler);
            w.mapped = w.wanted;
            w.conflictLogged = false;
        } catch (IllegalArgumentException e) {
            if (!w.conflictLogged) {
                w.conflictLogged = true;
                LOG.log(System.Logger.Level.WARNING, "pci: {0} left unmapped: {1}", w.name, e.getMessage());
            }
        }
    }

    private Bus space(PciWindow w) {
        return w.space == PciWindow.Space.IO ? io : mmio;
    }

    // ---- INTx ----

    void intx(PciAddress at, int pin, boolean level) {
        router.setLevel(at.devfn(), PciIrqRouter.pirq(at.slot(), pin - 1), level);
    }

    // ---- info pci ----

    /** What {@code info pci} shows, function by function. */
    public List<PciDeviceInfo> info() {
        List<PciDeviceInfo> list = new ArrayList<>();
        for (PciFunction f : functions()) {
            list.add(PciDeviceInfo.of(f, qdevId(f.address().devfn())));
        }
        return List.copyOf(list);
    }
}
