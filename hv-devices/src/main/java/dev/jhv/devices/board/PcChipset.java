package dev.jhv.devices.board;

import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.machine.Machine;
import dev.jhv.devices.acpi.AcpiPm;
import dev.jhv.devices.chipset.I440fx;
import dev.jhv.devices.chipset.PamMode;
import dev.jhv.devices.chipset.Piix3Isa;
import dev.jhv.devices.chipset.Piix4Pm;
import dev.jhv.devices.chipset.ShadowRamControl;
import dev.jhv.devices.ide.PiixIde;
import dev.jhv.devices.pci.PciAllocator;
import dev.jhv.devices.pci.PciBus;
import dev.jhv.devices.pci.PciConfigPorts;
import dev.jhv.devices.pci.PciIrqRouter;

/**
 * QEMU pc's chipset on bus 0: the i440FX host bridge (00.0) whose PAM registers switch the shadow RAM, the PIIX3
 * ISA bridge (01.0) whose PIRQ routes feed the ISA IRQs, the PIIX3 IDE function (01.1) with the bus-master block,
 * and the PIIX4 PM function (01.3) placing the ACPI registers; the configuration ports at 0xCF8 share their
 * range with the reset control register at 0xCF9.
 */
final class PcChipset {
    /** Direct boot's I/O BARs start where SeaBIOS starts them. */
    private static final long FIRMWARE_IO_START = 0xc000;
    /** Below the IOAPIC, HPET and LAPIC, as QEMU's 32-bit PCI window ends. */
    private static final long MEM32_END = 0xfec0_0000L;

    private PcChipset() { }

    /** @param shadow the firmware's shadow RAM, or null for direct boot (plain RAM there; PAM writes change nothing) */
    static PciBus create(Machine m, PcPlatform platform, PcIde ide, ShadowRam shadow) {
        var router = new PciIrqRouter(m::irqLine);
        var bus = new PciBus(m.ioBus(), m.mmioBus(), router);
        ShadowRamControl pam = shadow == null ? (region, mode) -> { }
                : (region, mode) -> shadow.setMode(region.base(), new ShadowRam.Mode(
                        mode == PamMode.READ_ONLY || mode == PamMode.READ_WRITE,
                        mode == PamMode.WRITE_ONLY || mode == PamMode.READ_WRITE));
        var host = new I440fx(pam);
        var isa = new Piix3Isa(router);
        var ideFunction = new PiixIde(ide.busMaster());
        var pm = new Piix4Pm(platform.acpiPm(), AcpiPm.LENGTH);
        bus.add(I440fx.ADDRESS, host);
        bus.add(Piix3Isa.ADDRESS, isa);
        bus.add(PiixIde.ADDRESS, ideFunction);
        bus.add(Piix4Pm.ADDRESS, pm);
        m.ioBus().register(PciConfigPorts.BASE, PciConfigPorts.LENGTH, "pci-conf", new PciConfigPorts(bus,
                platform.resetControl()));
        m.addDevice(host);
        m.addDevice(isa);
        m.addDevice(ideFunction);
        m.addDevice(pm);
        return bus;
    }

    /** What SeaBIOS would have done for a direct kernel boot: BARs, decode, PIRQ routes, the PM block at 0x600. */
    static void configureWithoutFirmware(PciBus bus, MemoryMap map) {
        new PciAllocator(bus).configureWithoutFirmware(new PciAllocator.Layout(FIRMWARE_IO_START,
                map.lowMemoryEnd(), MEM32_END, MemoryMap.FOUR_GIB + map.highMemorySize()));
    }
}
