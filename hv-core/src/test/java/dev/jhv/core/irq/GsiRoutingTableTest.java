package dev.jhv.core.irq;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GsiRoutingTableTest {
    /** The PC table as PcMachine builds it. */
    static final GsiRoutingTable PC = GsiRoutingTable.EMPTY.withPins(Irqchip.PIC_MASTER, 0)
            .withPins(Irqchip.PIC_SLAVE, 8).withPins(Irqchip.IOAPIC, 0).without(2)
            .with(new IrqchipRoute(0, Irqchip.IOAPIC, 2));

    @Test
    void thePcTableIsTheOneKvmVmUsedToHardCode() {
        // what setPcGsiRouting sent: ISA IRQs but the cascade on the PICs, IOAPIC pins but 2 from GSIs, GSI 0 -> pin 2
        List<GsiRoute> expected = new ArrayList<>();
        for (int gsi = 0; gsi < 16; gsi++) {
            if (gsi != 2) {
                expected.add(new IrqchipRoute(gsi, gsi < 8 ? Irqchip.PIC_MASTER : Irqchip.PIC_SLAVE, gsi & 7));
            }
        }
        for (int gsi = 0; gsi < 24; gsi++) {
            if (gsi != 2) {
                expected.add(new IrqchipRoute(gsi, Irqchip.IOAPIC, gsi == 0 ? 2 : gsi));
            }
        }
        assertThat(PC.routes()).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(PC.routes(0)).containsExactly(new IrqchipRoute(0, Irqchip.PIC_MASTER, 0),
                new IrqchipRoute(0, Irqchip.IOAPIC, 2));
        assertThat(PC.routes(2)).isEmpty();
        assertThat(PC.firstGsiAbovePins()).isEqualTo(24);
    }

    @Test
    void withReplacesTheRouteOfTheSameChipAndAnMsiReplacesEverythingOnItsGsi() {
        GsiRoutingTable t = GsiRoutingTable.EMPTY.with(new IrqchipRoute(5, Irqchip.PIC_MASTER, 5))
                .with(new IrqchipRoute(5, Irqchip.IOAPIC, 5));
        assertThat(t.routes(5)).hasSize(2);
        t = t.with(new IrqchipRoute(5, Irqchip.IOAPIC, 9));
        assertThat(t.routes(5)).containsExactly(new IrqchipRoute(5, Irqchip.PIC_MASTER, 5),
                new IrqchipRoute(5, Irqchip.IOAPIC, 9));
        MsiRoute msi = new MsiRoute(5, 0xfee00000, 0, 0x41);
        t = t.with(msi);
        assertThat(t.routes(5)).containsExactly(msi);
        t = t.with(new IrqchipRoute(5, Irqchip.IOAPIC, 5));
        assertThat(t.routes(5)).containsExactly(new IrqchipRoute(5, Irqchip.IOAPIC, 5));
        assertThat(t.without(5, Irqchip.IOAPIC).routes()).isEmpty();
    }

    @Test
    void equalTablesAreEqualWhateverOrderTheyWereBuiltIn() {
        GsiRoutingTable a = GsiRoutingTable.of(new MsiRoute(30, 0xfee00000, 0, 0x50),
                new IrqchipRoute(1, Irqchip.IOAPIC, 1), new IrqchipRoute(1, Irqchip.PIC_MASTER, 1));
        GsiRoutingTable b = GsiRoutingTable.EMPTY.with(new IrqchipRoute(1, Irqchip.PIC_MASTER, 1))
                .with(new MsiRoute(30, 0xfee00000, 0, 0x50)).with(new IrqchipRoute(1, Irqchip.IOAPIC, 1));
        assertThat(a).isEqualTo(b);
        assertThat(a.routes().getFirst()).isEqualTo(new IrqchipRoute(1, Irqchip.PIC_MASTER, 1));
    }

    @Test
    void tablesKvmWouldRefuseAreRefusedWithTheGsi() {
        assertThatThrownBy(() -> GsiRoutingTable.of(new IrqchipRoute(3, Irqchip.IOAPIC, 3),
                new IrqchipRoute(3, Irqchip.IOAPIC, 4))).hasMessage("GSI 3 is routed twice to IOAPIC");
        assertThatThrownBy(() -> GsiRoutingTable.of(new MsiRoute(40, 0xfee00000, 0, 1),
                new IrqchipRoute(40, Irqchip.IOAPIC, 4))).hasMessageContaining("GSI 40 has an MSI route and another");
        assertThatThrownBy(() -> new IrqchipRoute(8, Irqchip.PIC_SLAVE, 8)).hasMessageContaining("PIC_SLAVE has no pin 8");
        assertThatThrownBy(() -> new IrqchipRoute(0, Irqchip.IOAPIC, 24)).hasMessageContaining("IOAPIC has no pin 24");
        assertThatThrownBy(() -> new MsiRoute(-1, 0, 0, 0)).hasMessageContaining("negative");
    }
}
