package dev.jhv.devices.board;

import dev.jhv.core.acpi.AcpiTables;
import dev.jhv.core.acpi.PciWindows;
import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.smbios.SmbiosTables;
import dev.jhv.devices.fwcfg.FwCfg;
import dev.jhv.devices.fwcfg.FwCfgAcpi;
import dev.jhv.devices.fwcfg.FwCfgBuilder;
import dev.jhv.devices.fwcfg.FwCfgUserItem;
import dev.jhv.devices.serial.Uart16550;

import java.util.List;

/**
 * What the firmware learns through fw_cfg on this board, as QEMU's pc tells SeaBIOS: RAM size and the e820 RAM
 * entries, CPU counts, the boot order and menu, COM1 as the firmware's console (no display yet), jhv's own ACPI
 * tables through the linker/loader, the SMBIOS tables, and the user's -fw_cfg items.
 */
final class FirmwareConfig {
    /** QEMU's default for -boot reboot-timeout: -1, never reboot after a failed boot. */
    private static final int NO_REBOOT_AFTER_FAILURE = -1;
    private static final String SMBIOS_MANUFACTURER = "jhv";
    /** QEMU's description of the pc machine, which guests already know. */
    private static final String SMBIOS_PRODUCT = "Standard PC (i440FX + PIIX, 1996)";
    private static final String SMBIOS_VERSION = "pc";

    private FirmwareConfig() { }

    static FwCfg build(Machine m, MemoryMap map, BoardConfig config, List<String> bootOrder, PciWindows pci) {
        var b = new FwCfgBuilder()
                .ramSize(map.ramSize())
                .cpus(config.machine().smp().cpus(), config.machine().smp().maxCpus())
                .bootMenu(config.boot().menu())
                .bootFailWait(NO_REBOOT_AFTER_FAILURE)
                .serconPort(Uart16550.COM1_BASE);
        b.e820(ramEntries(map));
        if (!bootOrder.isEmpty()) {
            b.bootOrder(bootOrder);
        }
        FwCfgAcpi.addTo(b, AcpiTables.build(m.topology(), m.vcpus().size(), pci));
        SmbiosTables smbios = SmbiosTables.build(new SmbiosTables.Machine(SMBIOS_MANUFACTURER, SMBIOS_PRODUCT,
                SMBIOS_VERSION, m.topology(), m.vcpus().size(), Cpuid.processorId(m, config.machine().cpuModel()),
                map.ramSize(), ramEntries(map).stream()
                        .map(e -> new SmbiosTables.RamRange(e.start(), e.size())).toList()));
        b.addFile("etc/smbios/smbios-anchor", smbios.anchor());
        b.addFile("etc/smbios/smbios-tables", smbios.tables());
        for (FwCfgUserItem item : config.fwCfg()) {
            b.addUserItem(item);
        }
        return b.build(m.memory());
    }

    /** As QEMU's etc/e820: the RAM below the PCI hole from 0, and the RAM above 4 GiB; the firmware reserves. */
    private static List<MemoryMap.E820Entry> ramEntries(MemoryMap map) {
        var out = new java.util.ArrayList<MemoryMap.E820Entry>();
        out.add(new MemoryMap.E820Entry(0, map.lowMemoryEnd(), MemoryMap.E820Type.RAM));
        if (map.highMemorySize() > 0) {
            out.add(new MemoryMap.E820Entry(MemoryMap.FOUR_GIB, map.highMemorySize(), MemoryMap.E820Type.RAM));
        }
        return out;
    }
}
