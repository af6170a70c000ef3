package dev.jhv.launcher.board;

import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.machine.BootProgram;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.MachineConfig;
import dev.jhv.devices.board.BoardConfig;
import dev.jhv.devices.board.BoardException;
import dev.jhv.devices.board.PcBoard;
import dev.jhv.core.machine.MachineControl;
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
import java.util.Map;
import java.util.function.Supplier;
import dev.jhv.core.net.NetBackend;
import dev.jhv.devices.board.DeviceSpec;

/**
 * The PC jhv runs for a command line: the board (hv-devices' {@link PcBoard}) with its drives, and what the
 * launcher adds to it: the monitor's migration and snapshot commands, -incoming and -loadvm.
 */
public final class PcMachine implements MachineHandle {
    private final PcBoard board;
    private final Machine machine;
    private final BootProgram boot;
    private final List<Drive> drives;
    /** The -netdev backends by id, opened before the board; the NICs find theirs here. */
    private final Map<String, NetBackend> netdevs;
    /** What info network shows of the NICs: the command line's until the NIC devices describe themselves. */
    private volatile Supplier<List<InfoNetwork.Nic>> nics;
    private final Migration migration = new Migration();
    /** The -incoming load, once started (guarded by this). */
    private IncomingMigration incoming;

    private PcMachine(PcBoard board, Map<String, NetBackend> netdevs, List<DeviceSpec> devices) {
        this.board = board;
        this.netdevs = netdevs;
        var fromConfig = InfoNetwork.fromConfig(devices);
        this.nics = () -> fromConfig;
        this.machine = board.machine();
        this.boot = board.boot();
        this.drives = board.drives();
    }

    public PcBoard board() {
        return board;
    }

    public Machine machine() {
        return machine;
    }

    public List<Drive> drives() {
        return drives;
    }

    /** The -netdev backends by id, in command-line order (started by the NIC that uses each). */
    public Map<String, NetBackend> netdevs() {
        return netdevs;
    }

    /** Where info network takes its NIC lines from (the NIC devices, once they can say). */
    public void nicInfo(Supplier<List<InfoNetwork.Nic>> nics) {
        this.nics = nics;
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
        for (var c : dev.jhv.launcher.migration.PostcopyCommands.commands(migration, this::recover)) {
            commands.register(c);
        }
        for (var op : dev.jhv.launcher.migration.PostcopyCommands.operations(migration, this::recover)) {
            commands.register(op);
        }
        for (var c : SnapshotCommands.commands(this::snapshots)) {
            commands.register(c);
        }
        commands.registerInfo(SnapshotCommands.infoSnapshots(this::snapshots));
        commands.registerInfo(SnapshotCommands.infoBlock(this::drives));
        commands.registerInfo(BoardCommands.infoPci(board));
        commands.registerInfo(new InfoNetwork(() -> nics.get(), netdevs));
        for (var c : BoardCommands.commands(board)) {
            commands.register(c);
        }
    }

    /**
     * Builds the PC on {@code base} (a VM opened ahead by {@link Machine.KvmBase#open}, which this takes over), or
     * on a VM of its own when {@code base} is null.
     */
    public static PcMachine create(BoardConfig config, CharBackend com1, Machine.KvmBase base) {
        List<Drive> drives;
        Map<String, NetBackend> netdevs;
        try {
            drives = Drives.open(config.drives());
            try {
                netdevs = Netdevs.open(config.netdevs(), config.devices());
            } catch (RuntimeException e) {
                Drives.close(drives);
                throw e;
            }
        } catch (RuntimeException e) {
            if (base != null) {
                base.close();
            }
            throw e;
        }
        try {
            // from here the base belongs to PcBoard.create, which closes it if it fails
            PcBoard board = PcBoard.create(config, com1, drives, base != null ? base : Machine.KvmBase.open(),
                    new dev.jhv.virtio.VirtioDevices(), netdevs);
            return new PcMachine(board, netdevs, config.devices());
        } catch (BoardException e) {
            Drives.close(drives);
            Netdevs.close(netdevs);
            throw new LauncherException(e.getMessage());
        } catch (RuntimeException e) {
            Drives.close(drives);
            Netdevs.close(netdevs);
            throw e;
        }
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

    /** migrate_recover URI: a destination's paused postcopy listens there. */
    private synchronized void recover(String uri) {
        if (incoming == null) {
            throw new IllegalStateException("Migrate recover can only be run when postcopy is paused.");
        }
        incoming.recover(uri);
    }

    /** An incoming migration that takes a switch to postcopy when this machine's postcopy-ram is on. */
    private IncomingMigration postcopyAware(IncomingMigration in) {
        in.allowPostcopy(() -> migration.capabilities().enabled("postcopy-ram"));
        return in;
    }

    private IncomingMigration incomingMigration(String uri) {
        try {
            return postcopyAware(new IncomingMigration(machine, uri, !machine.config().startPaused(),
                    migration));
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
            incoming = postcopyAware(new IncomingMigration(machine, uri, !machine.config().startPaused(),
                    migration));
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
        board.close();
        Drives.close(drives);
        Netdevs.close(netdevs);
    }
}
