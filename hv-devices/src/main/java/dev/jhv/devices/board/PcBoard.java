package dev.jhv.devices.board;

import dev.jhv.core.acpi.PciWindows;
import dev.jhv.core.block.Drive;
import dev.jhv.core.boot.BootException;
import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.irq.GsiRoutingTable;
import dev.jhv.core.irq.IrqchipRoute;
import dev.jhv.core.irq.Irqchip;
import dev.jhv.core.machine.BootProgram;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.net.NetBackend;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.core.trace.StartupTrace;
import dev.jhv.core.vcpu.PowerOnSetup;
import dev.jhv.core.vcpu.Vcpu;
import dev.jhv.devices.debug.IsaDebugCon;
import dev.jhv.devices.fwcfg.FwCfg;
import dev.jhv.devices.DeviceException;
import dev.jhv.devices.pci.PciAllocator;
import dev.jhv.devices.pci.PciBus;
import dev.jhv.devices.pci.PciFunction;
import dev.jhv.devices.platform.SystemControl;

import java.util.ArrayList;
import java.util.List;

/**
 * QEMU's "pc" as jhv builds it: hv-core's Machine with the PC memory map, the platform devices, CPUID per vCPU,
 * and either direct kernel boot (-kernel: jhv loads the kernel and its ACPI tables, no firmware runs) or the
 * firmware (SeaBIOS in ROM at the reset vector, shadow RAM under the PAM registers).
 */
public final class PcBoard implements AutoCloseable {
    /** The VGA window, 0xA0000–0xBFFFF: not RAM on a PC (a display adapter's memory, or nothing). */
    static final long VGA_WINDOW_START = 0xA0000;

    /**
     * The PC's interrupt routing: ISA IRQs 0-15 to both 8259s, GSIs 0-23 to the IOAPIC's pins, except that the
     * timer (IRQ 0) reaches IOAPIC pin 2, where the MADT's override says it is, and GSI 2 (the cascade) nowhere.
     */
    static final GsiRoutingTable PC_GSI_ROUTING = GsiRoutingTable.EMPTY.withPins(Irqchip.PIC_MASTER, 0)
            .withPins(Irqchip.PIC_SLAVE, 8).withPins(Irqchip.IOAPIC, 0).without(2)
            .with(new IrqchipRoute(0, Irqchip.IOAPIC, 2));

    private final Machine machine;
    private final PcPlatform platform;
    private final BootProgram boot;
    private final List<Drive> drives;
    private final FirmwareImage firmware;
    private PciBus pci;
    private PcIde ide;

    private PcBoard(Machine machine, PcPlatform platform, BootProgram boot, List<Drive> drives,
                    FirmwareImage firmware) {
        this.machine = machine;
        this.platform = platform;
        this.boot = boot;
        this.drives = drives.stream().filter(java.util.Objects::nonNull).toList();
        this.firmware = firmware;
    }

    public Machine machine() {
        return machine;
    }

    public PcPlatform platform() {
        return platform;
    }

    /** What runs at power-on and at every reset. */
    public BootProgram boot() {
        return boot;
    }

    public List<Drive> drives() {
        return drives;
    }

    /** The IDE drive QEMU names {@code name} (ide0-hd0, ide1-cd0), if there is one. */
    public java.util.Optional<dev.jhv.devices.ide.IdeDrive> ideDrive(String name) {
        for (var ch : ide.channels()) {
            for (int unit = 0; unit < 2; unit++) {
                if (ch.drive(unit).isPresent() && ch.driveName(unit).equals(name)) {
                    return ch.drive(unit);
                }
            }
        }
        return java.util.Optional.empty();
    }

    /** The PCI bus (for info pci). */
    public PciBus pci() {
        return pci;
    }

    /**
     * Builds the PC on {@code base} (a VM opened ahead, which this takes over and closes if it fails).
     *
     * @param drives the opened drives of {@code config.drives()}, in the same order (null for a drive with no
     *               medium)
     * @throws BoardException or {@link dev.jhv.core.machine.MachineException} with a message for the terminal
     */
    public static PcBoard create(BoardConfig config, CharBackend com1, List<Drive> drives, Machine.KvmBase base) {
        return create(config, com1, drives, base, PciDeviceProvider.NONE);
    }

    /**
     * As {@link #create(BoardConfig, CharBackend, List, Machine.KvmBase)}, with {@code provider} building the PCI
     * functions of {@code config.devices()}: each is placed at its {@code addr=} (a taken slot is refused with
     * QEMU's message) or the first free slot, in command-line order, and joins the machine's devices.
     */
    public static PcBoard create(BoardConfig config, CharBackend com1, List<Drive> drives, Machine.KvmBase base,
                                 PciDeviceProvider provider) {
        return create(config, com1, drives, base, provider, java.util.Map.of());
    }

    /** As above, with the opened -netdev backends by id for the NICs to use. */
    public static PcBoard create(BoardConfig config, CharBackend com1, List<Drive> drives, Machine.KvmBase base,
                                 PciDeviceProvider provider, java.util.Map<String, NetBackend> netdevs) {
        for (DriveSpec d : config.drives()) {
            if (d.iface() != DriveSpec.Interface.IDE && d.iface() != DriveSpec.Interface.NONE
                    && d.iface() != DriveSpec.Interface.VIRTIO) {
                base.close();
                throw new BoardException(d.option() + ": if=" + d.iface().qemuName
                        + " is not supported by jhv yet (only if=ide, if=virtio and if=none)");
            }
        }
        FirmwareImage firmware = null;
        if (config.firmwareBoot()) {
            try {
                firmware = FirmwareImage.load(config.bios() != null ? config.bios() : BoardConfig.DEFAULT_BIOS);
            } catch (RuntimeException e) {
                base.close();
                throw e;
            }
        }
        MemoryMap map = new MemoryMap(config.machine().memoryBytes());
        Machine m;
        try {
            m = Machine.create(config.machine(), ramRanges(map, config.firmwareBoot()), base, PC_GSI_ROUTING);
        } catch (RuntimeException e) {
            if (firmware != null) {
                firmware.close();
            }
            throw e;
        }
        PcPlatform platform = null;
        try {
            Cpuid.configure(m, config.machine().cpuModel());
            if (!config.firmwareBoot()) {
                // what firmware would have set up before the OS; with firmware, the firmware does it
                for (Vcpu v : m.vcpus()) {
                    PowerOnSetup.apply(v.kvm(), m.msrIndices());
                }
            }
            StartupTrace.mark("cpuid and power-on state set");
            platform = PcPlatform.create(m.ioBus(), m::irqLine, com1 == null ? CharBackend.NULL : com1,
                    systemControl(m), new PcPlatform.Config(map.lowMemoryEnd(), map.highMemorySize(),
                            config.machine().smp().cpus(), config.debugExits()));
            platform.devices().forEach(m::addDevice);
            StartupTrace.mark("platform devices built");
            PcIde ide = PcIde.create(m, config.drives(), drives);
            ShadowRam shadow = firmware == null ? null
                    : new ShadowRam(m, shadowRamSegment(m), firmware.isaBios());
            PciBus pci = PcChipset.create(m, platform, ide, shadow);
            addPciDevices(m, pci, config, drives, provider, netdevs);
            BootProgram boot;
            if (firmware != null) {
                firmware.mapHigh(m);
                firmwareLog(m);
                FwCfg fwCfg = FirmwareConfig.build(m, map, config, ide.bootOrder(config.boot()),
                        Acpi.pciWindows(map));
                m.ioBus().register(FwCfg.IO_BASE, FwCfg.IO_LENGTH, "fw_cfg", fwCfg);
                m.addDevice(fwCfg);
                boot = new FirmwareBoot(shadow);
            } else {
                var direct = new DirectKernelBoot(map, machine -> Acpi.build(machine, map));
                // at power-on and after every reset (which puts the chipset back to its reset state): what the
                // firmware would have done to the chipset, then the kernel
                boot = machine -> {
                    PcChipset.configureWithoutFirmware(pci, map);
                    direct.load(machine);
                };
                // load once now, so that a bad kernel fails before anything runs
                boot.load(m);
            }
            var board = new PcBoard(m, platform, boot, drives, firmware);
            board.pci = pci;
            board.ide = ide;
            return board;
        } catch (BootException e) {
            closeQuietly(m, platform, firmware);
            throw new BoardException(e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(m, platform, firmware);
            throw e;
        }
    }

    /** The -device PCI functions, built by {@code provider}, placed on bus 0 and added to the machine. */
    private static void addPciDevices(Machine m, PciBus pci, BoardConfig config, List<Drive> drives,
                                      PciDeviceProvider provider, java.util.Map<String, NetBackend> netdevs) {
        var byId = new java.util.HashMap<String, Drive>();
        var specs = new java.util.HashMap<String, DriveSpec>();
        for (int i = 0; i < config.drives().size() && i < drives.size(); i++) {
            String id = config.drives().get(i).id();
            if (id != null && drives.get(i) != null) {
                byId.put(id, drives.get(i));
                specs.put(id, config.drives().get(i));
            }
        }
        var resources = new PciDeviceProvider.Resources(m, byId, specs, netdevs);
        var allocator = new PciAllocator(pci);
        for (DeviceSpec d : config.devices()) {
            if (d instanceof DeviceSpec.Pci p) {
                PciFunction f = provider.build(p, resources).orElseThrow(
                        () -> new BoardException("-device " + p.driver() + ": not supported by jhv yet"));
                try {
                    allocator.place(f, p.driver(), p.id(), p.addr());
                } catch (DeviceException e) {
                    f.close();
                    throw new BoardException("-device " + p.driver() + ": " + e.getMessage(), e);
                }
                m.addDevice(f);
            }
        }
    }

    /**
     * Direct boot: RAM from 0 to the PCI hole in one piece (jhv writes its tables into 0xE0000–0xFFFFF itself).
     * Firmware: the VGA window left out, and 0xC0000–0xFFFFF as shadow RAM that the board maps.
     */
    static List<Machine.RamRange> ramRanges(MemoryMap map, boolean firmware) {
        var out = new ArrayList<Machine.RamRange>();
        for (MemoryMap.RamRange r : map.ramRanges()) {
            if (firmware && r.gpa() == 0) {
                out.add(new Machine.RamRange(0, VGA_WINDOW_START));
                out.add(new Machine.RamRange(ShadowRam.BASE, ShadowRam.SIZE, true));
                if (r.size() > MemoryMap.HIGH_MEMORY_START) {
                    out.add(new Machine.RamRange(MemoryMap.HIGH_MEMORY_START,
                            r.size() - MemoryMap.HIGH_MEMORY_START));
                }
            } else {
                out.add(new Machine.RamRange(r.gpa(), r.size()));
            }
        }
        return out;
    }

    /**
     * -Djhv.firmware-log=FILE: SeaBIOS's debug output (port 0x402), as QEMU's {@code -chardev file,id=d,path=FILE
     * -device isa-debugcon,iobase=0x402,chardev=d}; for finding out why a guest does not boot.
     */
    private static void firmwareLog(Machine m) {
        String path = System.getProperty("jhv.firmware-log");
        if (path == null) {
            return;
        }
        try {
            var con = new IsaDebugCon(new java.io.BufferedOutputStream(new java.io.FileOutputStream(path)));
            m.ioBus().register(IsaDebugCon.SEABIOS_PORT, 1, "isa-debugcon", con);
            m.addDevice(con);
        } catch (java.io.IOException e) {
            throw new BoardException("-Djhv.firmware-log=" + path + ": " + e.getMessage(), e);
        }
    }

    private static java.lang.foreign.MemorySegment shadowRamSegment(Machine m) {
        for (GuestMemory.Region r : m.memory().regions()) {
            if (r.gpa() == ShadowRam.BASE) {
                return r.segment();
            }
        }
        throw new IllegalStateException("no shadow RAM region");
    }

    private static void closeQuietly(Machine m, PcPlatform platform, FirmwareImage firmware) {
        if (platform != null) {
            platform.close();
        }
        m.close();
        if (firmware != null) {
            firmware.close();
        }
    }

    private static SystemControl systemControl(Machine m) {
        return new SystemControl() {
            @Override
            public void requestReset() {
                m.requestReset();
            }

            @Override
            public void requestPowerOff() {
                m.requestPowerOff();
            }

            @Override
            public void requestExit(int status) {
                m.requestExit(status);
            }
        };
    }

    /** Stops the devices and the machine (RAM unmapped): the caller has ended every save, load and migration. */
    @Override
    public void close() {
        platform.close();
        machine.close();
        if (firmware != null) {
            firmware.close();
        }
    }
}
