package dev.jhv.core.irq;

import dev.jhv.core.kvm.KvmVm;

import java.util.BitSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * The machine's GSIs: KVM's routing table, held here as a {@link GsiRoutingTable} and changed at run time with one
 * KVM_SET_GSI_ROUTING per commit; GSIs for MSI routes, handed out above the irqchip's pins; and shared level
 * lines, where several devices drive one GSI (PCI INTx) and KVM sees the OR of their levels.
 *
 * <p>Thread-safe: vCPU threads (a register write) and device threads (a timer, host input) drive lines at once.
 * A line's KVM_IRQ_LINE is made under that line's lock, so KVM sees its levels in the order they were decided.
 */
public final class GsiRouter {
    private final IrqchipCalls kvm;
    private final int maxGsis;
    private final int firstMsiGsi;
    private final ConcurrentHashMap<Integer, Line> lines = new ConcurrentHashMap<>();
    /** Guards table changes and GSI allocation. */
    private final Object routingLock = new Object();
    private volatile GsiRoutingTable table;
    private final BitSet allocated = new BitSet();

    /** Takes over {@code vm}'s routing: sets {@code initial} (the board's table) in place of KVM's default one. */
    public GsiRouter(KvmVm vm, GsiRoutingTable initial) {
        this(IrqchipCalls.of(vm), initial);
    }

    GsiRouter(IrqchipCalls kvm, GsiRoutingTable initial) {
        this.kvm = kvm;
        this.maxGsis = kvm.maxRoutes();
        if (maxGsis <= 0) {
            throw new IllegalStateException("KVM offers no GSI routing (KVM_CAP_IRQ_ROUTING)");
        }
        this.firstMsiGsi = initial.firstGsiAbovePins();
        checkFits(initial);
        kvm.setRouting(initial); // always: KVM's own default table is not the board's
        this.table = initial;
    }

    /** The table KVM has now. */
    public GsiRoutingTable table() {
        return table;
    }

    /** How many GSIs there are (KVM's route limit); every GSI is below it. */
    public int gsiCount() {
        return maxGsis;
    }

    /**
     * Changes the table: {@code change} maps the current table to the next, which KVM gets in one
     * KVM_SET_GSI_ROUTING (none when it equals the current one). Returns the table now in force; if KVM refuses,
     * the old one stays and the error is thrown.
     */
    public GsiRoutingTable commit(UnaryOperator<GsiRoutingTable> change) {
        synchronized (routingLock) {
            GsiRoutingTable next = change.apply(table);
            if (next.equals(table)) {
                return table;
            }
            checkFits(next);
            kvm.setRouting(next);
            table = next;
            return next;
        }
    }

    /** Adds {@code route}, replacing the routes it conflicts with (see {@link GsiRoutingTable#with}): one commit. */
    public GsiRoutingTable route(GsiRoute route) {
        return commit(t -> t.with(route));
    }

    /** Removes every route of {@code gsi}: one commit. */
    public GsiRoutingTable unroute(int gsi) {
        return commit(t -> t.without(gsi));
    }

    /**
     * A GSI for an MSI route, the lowest above the irqchip's pins that has no route and is not allocated; it stays
     * the caller's until {@link #releaseGsi}.
     */
    public int allocateGsi() {
        synchronized (routingLock) {
            for (int gsi = firstMsiGsi; gsi < maxGsis; gsi++) {
                if (!allocated.get(gsi) && table.routes(gsi).isEmpty()) {
                    allocated.set(gsi);
                    return gsi;
                }
            }
            throw new IllegalStateException("no free GSI for an MSI route: GSIs " + firstMsiGsi + " to "
                    + (maxGsis - 1) + " are all in use");
        }
    }

    /** Gives back a GSI from {@link #allocateGsi}, removing its routes (one commit if it had any). */
    public void releaseGsi(int gsi) {
        synchronized (routingLock) {
            if (gsi < 0 || !allocated.get(gsi)) {
                throw new IllegalArgumentException("GSI " + gsi + " was not allocated");
            }
            unroute(gsi);
            allocated.clear(gsi);
        }
    }

    /**
     * A new input of {@code gsi}, for one device: KVM sees the GSI asserted while any of its sources is. A source
     * left asserted holds the line up, as a stuck device would; deassert it before dropping it.
     */
    public IrqLine source(int gsi) {
        if (gsi < 0 || gsi >= maxGsis) {
            throw new IllegalArgumentException("GSI " + gsi + " is not below KVM's " + maxGsis);
        }
        return new Source(lines.computeIfAbsent(gsi, Line::new));
    }

    /** The level KVM was last given for {@code gsi}: the OR of its sources. */
    public boolean level(int gsi) {
        Line line = lines.get(gsi);
        return line != null && line.level();
    }

    private void checkFits(GsiRoutingTable t) {
        if (t.routes().size() > maxGsis) {
            throw new IllegalArgumentException(t.routes().size() + " routes are more than KVM's " + maxGsis);
        }
        for (GsiRoute r : t.routes()) {
            if (r.gsi() >= maxGsis) {
                throw new IllegalArgumentException("GSI " + r.gsi() + " is not below KVM's " + maxGsis);
            }
        }
    }

    /** One GSI's wired OR. */
    private final class Line {
        private final int gsi;
        /** How many sources are asserted (guarded by this). */
        private int asserted;

        Line(int gsi) {
            this.gsi = gsi;
        }

        synchronized boolean level() {
            return asserted > 0;
        }

        synchronized void set(Source source, boolean level) {
            if (source.level == level) {
                return;
            }
            int next = asserted + (level ? 1 : -1);
            if ((next > 0) != (asserted > 0)) {
                kvm.setLevel(gsi, next > 0); // if KVM refuses, nothing changed here either
            }
            asserted = next;
            source.level = level;
        }
    }

    private static final class Source implements IrqLine {
        private final Line line;
        /** This source's own level (guarded by line). */
        private boolean level;

        Source(Line line) {
            this.line = line;
        }

        @Override
        public void setLevel(boolean asserted) {
            line.set(this, asserted);
        }

        @Override
        public String toString() {
            return "source of GSI " + line.gsi;
        }
    }
}
