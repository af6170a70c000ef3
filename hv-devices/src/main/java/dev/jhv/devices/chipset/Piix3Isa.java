package dev.jhv.devices.chipset;

import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.devices.pci.PciAddress;
import dev.jhv.devices.pci.PciAllocator;
import dev.jhv.devices.pci.PciConfigSpace;
import dev.jhv.devices.pci.PciDeviceState;
import dev.jhv.devices.pci.PciIdentity;
import dev.jhv.devices.pci.PciIrqRouter;

import java.util.Objects;

/**
 * The PIIX3 PCI-to-ISA bridge (82371SB function 0) at 01.0: 8086:7000, ISA bridge, multi-function. PIRQRC[A–D]
 * (0x60–0x63) route the PCI interrupt lines to ISA IRQs through a {@link PciIrqRouter}: bit 7 set disables
 * the route, bits 3:0 name the IRQ; IRQ 0, 1, 2, 8 and 13 are reserved and route nowhere. The other registers
 * are stored with their datasheet reset values.
 */
public final class Piix3Isa extends ChipsetFunction<Piix3Isa.State> {
    public static final PciAddress ADDRESS = new PciAddress(0, 1, 0);
    public static final int PIRQRC = 0x60;
    static final int IRQ_ROUTING_DISABLED = 0x80;

    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "PIIX3", 1)
            .minimumVersion(1)
            .struct("dev", PciDeviceState.VMSTATE, "dev")
            .build();

    public record State(PciDeviceState dev) { }

    private final PciIrqRouter router;

    public Piix3Isa(PciIrqRouter router) {
        super("PIIX3", PciIdentity.qemu(0x8086, 0x7000, 0x00, 0x0601, 0), PciConfigSpace.HEADER_MULTI_FUNCTION, 0,
                VMSTATE, State::new, State::dev);
        this.router = Objects.requireNonNull(router, "router");
        config.set16(PciConfigSpace.STATUS, PciConfigSpace.STATUS_DEVSEL_MEDIUM);
        config.setStored(PciConfigSpace.DEVICE_SPECIFIC, PciConfigSpace.SIZE - PciConfigSpace.DEVICE_SPECIFIC);
        config.set8(0x4c, 0x4d);   // IORT
        config.set8(0x4e, 0x03);   // XBCS
        for (int i = 0; i < PciIrqRouter.PIRQS; i++) {
            config.set8(PIRQRC + i, IRQ_ROUTING_DISABLED);
            config.setWriteMask(PIRQRC + i, 1, 0x8f);
        }
        config.set8(0x69, 0x02);   // TOM
        config.set8(0x70, 0x80);   // MBIRQ0
        config.set8(0x76, 0x0c);   // MBDMA0
        config.set8(0x77, 0x0c);   // MBDMA1
        config.set8(0x78, 0x02);   // PCSC
        config.set8(0xa0, 0x08);   // SMICNTL
        config.set8(0xa8, 0x0f);   // FTMR
    }

    /** The ISA IRQ PIRQ {@code pirq} (0 = A) is routed to, or -1. */
    public synchronized int pirqRoute(int pirq) {
        return irqOf(config.get8(PIRQRC + pirq));
    }

    static int irqOf(int pirqrc) {
        if ((pirqrc & IRQ_ROUTING_DISABLED) != 0) {
            return -1;
        }
        int irq = pirqrc & 0xf;
        return switch (irq) {
            case 0, 1, 2, 8, 13 -> -1;
            default -> irq;
        };
    }

    @Override
    protected void configWritten(int reg, int size) {
        if (reg < PIRQRC + PciIrqRouter.PIRQS && reg + size > PIRQRC) {
            applyRoutes();
        }
    }

    @Override
    protected void configRestored() {
        applyRoutes();
    }

    private void applyRoutes() {
        for (int p = 0; p < PciIrqRouter.PIRQS; p++) {
            router.route(p, irqOf(config.get8(PIRQRC + p)));
        }
    }

    /** SeaBIOS's routes: PIRQA–D to IRQ 10, 10, 11, 11. */
    @Override
    protected void configureWithoutFirmware() {
        for (int p = 0; p < PciIrqRouter.PIRQS; p++) {
            config.set8(PIRQRC + p, PciAllocator.FIRMWARE_PIRQ_IRQS.get(p));
        }
        applyRoutes();
    }
}
