package dev.jhv.launcher.board;

import dev.jhv.core.boot.BootException;
import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.machine.MachineControl;
import dev.jhv.core.vcpu.PowerOnSetup;
import dev.jhv.core.vcpu.Vcpu;
import dev.jhv.devices.platform.PcPlatform;
import dev.jhv.devices.platform.SystemControl;
import dev.jhv.launcher.LauncherException;
import dev.jhv.launcher.MachineHandle;

import java.util.List;

/**
 * The PC jhv builds for a command line: hv-core's Machine with the PC memory map, the platform devices
 * (COM1, i8042, RTC, ACPI PM, reset control, debug exit), ACPI tables, CPUID per vCPU, and direct kernel boot.
 */
public final class PcMachine implements MachineHandle {
    private final Machine machine;
    private final PcPlatform platform;
    private final DirectKernelBoot boot;

    private PcMachine(Machine machine, PcPlatform platform, DirectKernelBoot boot) {
        this.machine = machine;
        this.platform = platform;
        this.boot = boot;
    }

    public static PcMachine create(MachineConfig config, CharBackend com1) {
        if (config.kernel() == null) {
            throw new LauncherException("no kernel given: booting a disk through firmware is not supported yet; "
                    + "use -kernel");
        }
        MemoryMap map = new MemoryMap(config.memoryBytes());
        List<Machine.RamRange> ram = map.ramRanges().stream()
                .map(r -> new Machine.RamRange(r.gpa(), r.size())).toList();
        Machine m = Machine.create(config, ram);
        PcPlatform platform = null;
        try {
            Cpuid.configure(m, config.cpuModel());
            for (Vcpu v : m.vcpus()) {
                PowerOnSetup.apply(v.kvm(), m.msrIndices());
            }
            platform = PcPlatform.create(m.ioBus(), m::irqLine, com1 == null ? CharBackend.NULL : com1,
                    systemControl(m), new PcPlatform.Config(map.lowMemoryEnd(), map.highMemorySize(),
                            config.smp().cpus(), config.debugExits()));
            m.addResetHandler(platform::reset);
            m.setPowerButton(platform::powerButton);
            DirectKernelBoot boot = new DirectKernelBoot(map, machine -> Acpi.build(machine, map));
            // Load once now, so that a bad kernel fails before anything runs.
            boot.load(m);
            return new PcMachine(m, platform, boot);
        } catch (BootException e) {
            closeQuietly(m, platform);
            throw new LauncherException(e.getMessage());
        } catch (RuntimeException e) {
            closeQuietly(m, platform);
            throw e;
        }
    }

    private static void closeQuietly(Machine m, PcPlatform platform) {
        if (platform != null) {
            platform.close();
        }
        m.close();
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

    @Override
    public MachineControl control() {
        return machine;
    }

    @Override
    public void start() {
        machine.start(boot);
    }

    @Override
    public int awaitExit() throws InterruptedException {
        try {
            return machine.exitStatus().get();
        } catch (java.util.concurrent.ExecutionException e) {
            return 1;
        }
    }

    @Override
    public void close() {
        platform.close();
        machine.close();
    }
}
