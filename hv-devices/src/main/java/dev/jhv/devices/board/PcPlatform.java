package dev.jhv.devices.board;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.bus.IoBus;
import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.irq.IrqLine;
import dev.jhv.core.device.Device;
import dev.jhv.devices.DeviceException;
import dev.jhv.devices.acpi.AcpiPm;
import dev.jhv.devices.acpi.ResetControl;
import dev.jhv.devices.debug.IsaDebugExit;
import dev.jhv.devices.platform.SystemControl;
import dev.jhv.devices.debug.PostCodePort;
import dev.jhv.devices.i8042.I8042;
import dev.jhv.devices.rtc.CmosRtc;
import dev.jhv.devices.serial.Uart16550;
import dev.jhv.devices.sysctl.SystemControlPortA;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.function.IntFunction;

/**
 * The legacy devices of a PC, built and placed on the port I/O bus in one call:
 * <pre>
 *   0x3f8-0x3ff  COM1 16550A          IRQ 4
 *   0x60, 0x64   i8042                IRQ 1 (keyboard), IRQ 12 (mouse)
 *   0x70-0x71    MC146818 RTC, CMOS   IRQ 8
 *   0x80         POST code port
 *   0x92         System Control Port A (fast A20, fast reset)
 *   iobase       isa-debug-exit, for each one configured
 * </pre>
 * and two blocks the chipset places: the ACPI PM registers (PM1a_EVT, PM1a_CNT, PM_TMR; SCI on IRQ 9, level,
 * active high) where the PIIX4 PM function's PMBA says (0x600 as SeaBIOS sets it), and the reset control
 * register (FADT reset register, value 0x06), which shares 0xcf8-0xcff with the PCI configuration ports.
 * The IRQ numbers are GSIs of the in-kernel PIC/IOAPIC; the machine's MADT must say IRQ 9 is level, active high.
 */
public final class PcPlatform implements AutoCloseable {
    /**
     * What the platform needs to know about the machine.
     *
     * @param ramBelow4g bytes of RAM below 4 GiB (below the PCI hole)
     * @param ramAbove4g bytes of RAM from 4 GiB up
     * @param cpus       number of vCPUs
     * @param debugExits the {@code -device isa-debug-exit} instances, possibly none
     * @param clock      the clock the RTC follows ({@code Clock.systemUTC()})
     */
    public record Config(long ramBelow4g, long ramAbove4g, int cpus, List<DeviceSpec.IsaDebugExit> debugExits,
                         Clock clock) {
        public Config {
            debugExits = List.copyOf(debugExits);
            Objects.requireNonNull(clock, "clock");
        }

        public Config(long ramBelow4g, long ramAbove4g, int cpus, List<DeviceSpec.IsaDebugExit> debugExits) {
            this(ramBelow4g, ramAbove4g, cpus, debugExits, Clock.systemUTC());
        }
    }

    public static final int ACPI_PM_BASE = AcpiPm.DEFAULT_BASE;

    private final Uart16550 com1;
    private final I8042 i8042;
    private final CmosRtc rtc;
    private final AcpiPm acpiPm;
    private final ResetControl resetControl;
    private final PostCodePort postCode;
    private final SystemControlPortA port92;
    private final List<IsaDebugExit> debugExits;
    private final ScheduledExecutorService rtcTimer;

    private PcPlatform(Uart16550 com1, I8042 i8042, CmosRtc rtc, AcpiPm acpiPm, ResetControl resetControl,
                       PostCodePort postCode, SystemControlPortA port92, List<IsaDebugExit> debugExits,
                       ScheduledExecutorService rtcTimer) {
        this.port92 = port92;
        this.rtcTimer = rtcTimer;
        this.com1 = com1;
        this.i8042 = i8042;
        this.rtc = rtc;
        this.acpiPm = acpiPm;
        this.resetControl = resetControl;
        this.postCode = postCode;
        this.debugExits = List.copyOf(debugExits);
    }

    /**
     * Builds the devices, registers them on {@code io}, and attaches COM1 to {@code com1Backend}.
     *
     * @param irqs        the IRQ line for a GSI
     * @param com1Backend where COM1's output goes and its input comes from ({@link CharBackend#NULL} for none)
     * @throws DeviceException when a debug-exit port is malformed or overlaps another device
     */
    public static PcPlatform create(IoBus io, IntFunction<IrqLine> irqs, CharBackend com1Backend,
                                    SystemControl control, Config config) {
        Objects.requireNonNull(io, "io");
        Objects.requireNonNull(irqs, "irqs");
        Objects.requireNonNull(com1Backend, "com1Backend");
        Objects.requireNonNull(control, "control");
        var com1 = new Uart16550("com1", com1Backend, irqs.apply(Uart16550.COM1_IRQ));
        var i8042 = new I8042(irqs.apply(I8042.KEYBOARD_IRQ), irqs.apply(I8042.AUX_IRQ), control);
        // The RTC's wake-ups run on one thread, started only when a guest enables an RTC interrupt.
        var rtcTimer = new ScheduledThreadPoolExecutor(1,
                r -> Thread.ofPlatform().name("rtc-timer").daemon().unstarted(r));
        rtcTimer.setRemoveOnCancelPolicy(true);
        var rtc = new CmosRtc(config.ramBelow4g(), config.ramAbove4g(), config.cpus(), config.clock(),
                irqs.apply(CmosRtc.IRQ), rtcTimer);
        var acpiPm = new AcpiPm(irqs.apply(AcpiPm.SCI_IRQ), control);
        var resetControl = new ResetControl(control);
        var postCode = new PostCodePort();
        var port92 = new SystemControlPortA(control);
        var debugExits = new ArrayList<IsaDebugExit>();
        try {
            for (var d : config.debugExits()) {
                debugExits.add(new IsaDebugExit(d.iobase(), d.iosize(), control));
            }
            registerAll(io, com1, i8042, rtc, postCode, port92, acpiPm, resetControl, debugExits);
        } catch (RuntimeException e) {
            // Leave the bus as it was: drop what this call registered.
            for (var range : io.ranges()) {
                if (isOurs(range.handler(), i8042, com1, rtc, postCode, port92, acpiPm, resetControl,
                        debugExits)) {
                    io.unregister(range.base());
                }
            }
            rtcTimer.shutdownNow();
            throw e;
        }
        com1Backend.attach(com1);
        return new PcPlatform(com1, i8042, rtc, acpiPm, resetControl, postCode, port92, debugExits,
                rtcTimer);
    }

    private static boolean isOurs(BusHandler h, I8042 i8042, Object... others) {
        if (h == i8042.dataPort() || h == i8042.commandPort()) {
            return true;
        }
        for (Object o : others) {
            if (o == h || (o instanceof List<?> list && list.contains(h))) {
                return true;
            }
        }
        return false;
    }

    private static void registerAll(IoBus io, Uart16550 com1, I8042 i8042, CmosRtc rtc, PostCodePort postCode,
                                    SystemControlPortA port92, AcpiPm acpiPm, ResetControl resetControl, List<IsaDebugExit> debugExits) {
        register(io, Uart16550.COM1_BASE, Uart16550.PORT_COUNT, "serial", com1);
        register(io, I8042.DATA_PORT, 1, "i8042-data", i8042.dataPort());
        register(io, I8042.COMMAND_PORT, 1, "i8042-cmd", i8042.commandPort());
        register(io, CmosRtc.INDEX_PORT, CmosRtc.PORT_COUNT, "rtc", rtc);
        register(io, PostCodePort.PORT, 1, "post-code", postCode);
        register(io, SystemControlPortA.PORT, 1, "port92", port92);
        for (var d : debugExits) {
            register(io, d.iobase(), d.iosize(), "isa-debug-exit", d);
        }
    }

    private static void register(IoBus io, int base, int length, String name, BusHandler handler) {
        try {
            io.register(base, length, name, handler);
        } catch (IllegalArgumentException e) {
            throw new DeviceException(e.getMessage(), e);
        }
    }


    /** Stops the RTC's timer thread; the devices stay registered but the RTC raises no more interrupts. */
    @Override
    public void close() {
        rtcTimer.shutdownNow();
    }


    public Uart16550 com1() {
        return com1;
    }

    public I8042 i8042() {
        return i8042;
    }

    public CmosRtc rtc() {
        return rtc;
    }

    public AcpiPm acpiPm() {
        return acpiPm;
    }

    public ResetControl resetControl() {
        return resetControl;
    }

    public PostCodePort postCode() {
        return postCode;
    }

    public SystemControlPortA port92() {
        return port92;
    }

    /**
     * Every device of the platform, for the machine's device list: the ones with guest-visible state first, in
     * this fixed order (their sections' order in a stream): "serial" (COM1), "pckbd", "mc146818rtc", "acpi-pm",
     * "piix_rcr", "port92", all instance 0; then the POST code port and the isa-debug-exits, which hold nothing
     * the guest can read back.
     */
    public List<Device> devices() {
        List<Device> all = new ArrayList<>(List.of(com1, i8042, rtc, acpiPm, resetControl, port92, postCode));
        all.addAll(debugExits);
        return List.copyOf(all);
    }

    public List<IsaDebugExit> debugExits() {
        return debugExits;
    }
}
