package dev.jhv.launcher.board;

import dev.jhv.core.boot.BootException;
import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.irq.GsiRoutingTable;
import dev.jhv.core.irq.Irqchip;
import dev.jhv.core.irq.IrqchipRoute;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.machine.MachineControl;
import dev.jhv.core.trace.StartupTrace;
import dev.jhv.core.vcpu.PowerOnSetup;
import dev.jhv.core.vcpu.Vcpu;
import dev.jhv.devices.platform.PcPlatform;
import dev.jhv.devices.platform.SystemControl;
import dev.jhv.launcher.LauncherException;
import dev.jhv.launcher.MachineHandle;

import dev.jhv.core.block.Drive;
import dev.jhv.migration.control.IncomingMigration;
import dev.jhv.launcher.migration.InfoMigrateCommand;
import dev.jhv.launcher.migration.MigrateCommand;
import dev.jhv.launcher.migration.MigrationCommands;
import dev.jhv.launcher.migration.MigrationOperations;
import dev.jhv.migration.control.Migration;
import dev.jhv.launcher.monitor.CommandTable;
import dev.jhv.launcher.snapshot.SnapshotCommands;
import dev.jhv.migration.snapshot.InternalSnapshots;

import java.util.List;

/**
 * The PC jhv builds for a command line: hv-core's Machine with the PC memory map, the platform devices
 * (COM1, i8042, RTC, ACPI PM, reset control, debug exit), ACPI tables, CPUID per vCPU, and direct kernel boot.
 */
public final class PcMachine implements MachineHandle {
    /** ISA IRQs on both 8259s (IRQ 2 is the cascade) and the IOAPIC; IRQ 0 on IOAPIC pin 2, as the MADT says. */
    static final GsiRoutingTable PC_GSI_ROUTING = GsiRoutingTable.EMPTY.withPins(Irqchip.PIC_MASTER, 0)
            .withPins(Irqchip.PIC_SLAVE, 8).withPins(Irqchip.IOAPIC, 0).without(2)
            .with(new IrqchipRoute(0, Irqchip.IOAPIC, 2));
    private final Machine machine;
    private final PcPlatform platform;
    private final DirectKernelBoot boot;
    private final List<Drive> drives;
    private final Migration migration = new Migration();
    /** The -incoming load, once started (guarded by this). */
    private IncomingMigration incoming;

    private PcMachine(Machine machine, PcPlatform platform, DirectKernelBoot boot, List<Drive> drives) {
        this.machine = machine;
        this.platform = platform;
        this.boot = boot;
        this.drives = drives;
    }

    public Machine machine() {
        return machine;
    }

    public List<Drive> drives() {
        return drives;
    }

    public InternalSnapshots snapshots() {
        return new InternalSnapshots(machine, drives);
    }

    /** migrate, info migrate, savevm, loadvm, delvm, info snapshots, info block. */
    @Override
    public void registerCommands(CommandTable commands) {
        commands.register(new MigrateCommand(this::machine, migration));
        commands.registerInfo(new InfoMigrateCommand(migration));
        for (var c : MigrationCommands.commands(migration, this::incomingFrom)) {
            commands.register(c);
        }
        for (var c : MigrationCommands.infoCommands(migration)) {
            commands.registerInfo(c);
        }
        for (var op : MigrationOperations.operations(this::machine, migration, this::incomingFrom)) {
            commands.register(op);
        }
        for (var c : SnapshotCommands.commands(this::snapshots)) {
            commands.register(c);
        }
        commands.registerInfo(SnapshotCommands.infoSnapshots(this::snapshots));
        commands.registerInfo(SnapshotCommands.infoBlock(this::drives));
    }

    /**
     * Builds the PC on {@code base} (a VM opened ahead by {@link Machine.KvmBase#open}, which this takes over), or
     * on a VM of its own when {@code base} is null.
     */
    public static PcMachine create(MachineConfig config, CharBackend com1, Machine.KvmBase base) {
        List<Drive> drives;
        try {
            if (config.kernel() == null) {
                throw new LauncherException("no kernel given: booting a disk through firmware is not supported yet; "
                        + "use -kernel");
            }
            drives = Drives.open(config.drives());
        } catch (RuntimeException e) {
            if (base != null) {
                base.close();
            }
            throw e;
        }
        try {
            // from here the base belongs to Machine.create, which closes it if it fails
            return create(config, com1, drives, base != null ? base : Machine.KvmBase.open());
        } catch (RuntimeException e) {
            Drives.close(drives);
            throw e;
        }
    }

    private static PcMachine create(MachineConfig config, CharBackend com1, List<Drive> drives,
                                    Machine.KvmBase base) {
        MemoryMap map = new MemoryMap(config.memoryBytes());
        List<Machine.RamRange> ram = map.ramRanges().stream()
                .map(r -> new Machine.RamRange(r.gpa(), r.size())).toList();
        Machine m = Machine.create(config, ram, base, PC_GSI_ROUTING);
        PcPlatform platform = null;
        try {
            Cpuid.configure(m, config.cpuModel());
            for (Vcpu v : m.vcpus()) {
                PowerOnSetup.apply(v.kvm(), m.msrIndices());
            }
            StartupTrace.mark("cpuid and power-on state set");
            platform = PcPlatform.create(m.ioBus(), m::irqLine, com1 == null ? CharBackend.NULL : com1,
                    systemControl(m), new PcPlatform.Config(map.lowMemoryEnd(), map.highMemorySize(),
                            config.smp().cpus(), config.debugExits()));
            platform.devices().forEach(m::addDevice);
            StartupTrace.mark("platform devices built");
            DirectKernelBoot boot = new DirectKernelBoot(map, machine -> Acpi.build(machine, map));
            // Load once now, so that a bad kernel fails before anything runs.
            boot.load(m);
            return new PcMachine(m, platform, boot, drives);
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

    /** With -incoming, starts loading the stream into a machine in inmigrate; the guest waits for start(). */
    @Override
    public synchronized void startLoading() {
        String uri = machine.config().incoming();
        if (uri != null && incoming == null && machine.runState() == dev.jhv.core.machine.RunState.PRELAUNCH) {
            machine.startIncoming(boot);
            if (uri.equals("defer")) {
                return; // migrate_incoming gives the URI
            }
            incoming = incomingMigration(uri);
            incoming.begin();
        }
    }

    private IncomingMigration incomingMigration(String uri) {
        try {
            return new IncomingMigration(machine, uri, !machine.config().startPaused(),
                    migration.status());
        } catch (RuntimeException e) {
            throw new LauncherException("-incoming " + uri + ": " + e.getMessage(), e);
        }
    }

    /** migrate_incoming URI: the load a destination started with -incoming defer waits for. */
    private synchronized void incomingFrom(String uri) {
        if (!"defer".equals(machine.config().incoming())) {
            throw new IllegalStateException("'-incoming' was not specified on the command line");
        }
        if (incoming != null) {
            throw new IllegalStateException("The incoming migration has already been started");
        }
        try {
            incoming = new IncomingMigration(machine, uri, !machine.config().startPaused(),
                    migration.status());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        incoming.begin();
        incoming.release();
    }

    /**
     * Runs the guest: from power-on, or, with -incoming, once the stream has loaded (then it runs unless -S),
     * or, with -loadvm, from the snapshot. A failed incoming load ends jhv with status 1, as QEMU does.
     */
    @Override
    public void start() {
        MachineConfig c = machine.config();
        if (c.incoming() != null) {
            startLoading();
            synchronized (this) {
                if (incoming != null) {
                    incoming.release();
                }
            }
            return;
        }
        if (c.loadvm() != null) {
            machine.startIncoming(boot);
            try {
                snapshots().loadAtStart(c.loadvm());
            } catch (RuntimeException e) {
                throw new LauncherException(e.getMessage());
            }
            machine.finishIncoming(!c.startPaused());
            return;
        }
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
        // a save, load or migration under way ends first: it reads the RAM and writes the drives closed below
        if (!machine.operations().end(Machine.END_TIMEOUT_MS)) {
            System.err.println("jhv: a save or load did not finish; leaving the machine to the process exit");
            return;
        }
        IncomingMigration loading;
        synchronized (this) {
            loading = incoming;
        }
        // the loader writes guest RAM and vCPU state: it must be gone before they are
        if (loading != null && !loading.cancel()) {
            System.err.println("jhv: the incoming migration did not stop; leaving the machine to the process exit");
            return;
        }
        platform.close();
        machine.close();
        Drives.close(drives);
    }
}
