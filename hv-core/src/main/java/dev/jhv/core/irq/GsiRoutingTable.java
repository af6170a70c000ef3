package dev.jhv.core.irq;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A whole GSI routing table as KVM_SET_GSI_ROUTING takes it, as a value: routes in GSI order, at most one per
 * (GSI, chip), and an MSI GSI with its one route only (KVM refuses anything else). Boards build their table from
 * it, e.g. the PC's ISA IRQs on the two 8259s and the IOAPIC.
 */
public record GsiRoutingTable(List<GsiRoute> routes) {
    public static final GsiRoutingTable EMPTY = new GsiRoutingTable(List.of());

    /** GSI order; on one GSI the chips in {@link Irqchip} order (a canonical order, so equal tables are equal). */
    private static final Comparator<GsiRoute> ORDER = Comparator.comparingInt(GsiRoute::gsi)
            .thenComparingInt(r -> r instanceof IrqchipRoute c ? c.chip().ordinal() : Irqchip.values().length);

    public GsiRoutingTable {
        List<GsiRoute> sorted = new ArrayList<>(routes);
        sorted.sort(ORDER);
        for (int i = 1; i < sorted.size(); i++) {
            GsiRoute a = sorted.get(i - 1);
            GsiRoute b = sorted.get(i);
            if (a.gsi() == b.gsi() && conflict(a, b)) {
                throw new IllegalArgumentException(a instanceof IrqchipRoute c && b instanceof IrqchipRoute
                        ? "GSI " + a.gsi() + " is routed twice to " + c.chip()
                        : "GSI " + a.gsi() + " has an MSI route and another: an MSI GSI has one route only");
            }
        }
        routes = List.copyOf(sorted);
    }

    public static GsiRoutingTable of(GsiRoute... routes) {
        return new GsiRoutingTable(List.of(routes));
    }

    /** Two routes of one GSI that cannot both be in a table. */
    private static boolean conflict(GsiRoute a, GsiRoute b) {
        return !(a instanceof IrqchipRoute x && b instanceof IrqchipRoute y) || x.chip() == y.chip();
    }

    /** This table with {@code route} in place of the routes it conflicts with (same GSI: same chip, or MSI). */
    public GsiRoutingTable with(GsiRoute route) {
        List<GsiRoute> next = new ArrayList<>(routes.size() + 1);
        for (GsiRoute r : routes) {
            if (r.gsi() != route.gsi() || !conflict(r, route)) {
                next.add(r);
            }
        }
        next.add(route);
        return new GsiRoutingTable(next);
    }

    /** Every pin of {@code chip} routed from a GSI of its own: pin p from GSI {@code firstGsi + p}. */
    public GsiRoutingTable withPins(Irqchip chip, int firstGsi) {
        GsiRoutingTable t = this;
        for (int pin = 0; pin < chip.pins(); pin++) {
            t = t.with(new IrqchipRoute(firstGsi + pin, chip, pin));
        }
        return t;
    }

    /** This table without any route of {@code gsi}. */
    public GsiRoutingTable without(int gsi) {
        return new GsiRoutingTable(routes.stream().filter(r -> r.gsi() != gsi).toList());
    }

    /** This table without {@code gsi}'s route to {@code chip}. */
    public GsiRoutingTable without(int gsi, Irqchip chip) {
        return new GsiRoutingTable(routes.stream()
                .filter(r -> !(r.gsi() == gsi && r instanceof IrqchipRoute c && c.chip() == chip)).toList());
    }

    /** The routes of one GSI (none, one per chip, or its MSI route). */
    public List<GsiRoute> routes(int gsi) {
        return routes.stream().filter(r -> r.gsi() == gsi).toList();
    }

    /** The first GSI above every GSI routed to an irqchip pin: where MSI GSIs start (24 on a PC). */
    public int firstGsiAbovePins() {
        return routes.stream().filter(r -> r instanceof IrqchipRoute).mapToInt(GsiRoute::gsi).max().orElse(-1) + 1;
    }
}
