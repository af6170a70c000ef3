package dev.jhv.core.machine;

import dev.jhv.core.bus.IoBus;
import dev.jhv.core.cpuid.Topology;
import dev.jhv.core.bus.MmioBus;
import dev.jhv.core.irq.GsiRouter;
import dev.jhv.core.irq.GsiRoutingTable;
import dev.jhv.core.irq.IrqLine;
import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.memory.DirtyLog;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.core.memory.HostMemory;
import dev.jhv.core.memory.RamAllocator;
import dev.jhv.core.sys.SysCallException;
import dev.jhv.core.trace.StartupTrace;
import dev.jhv.core.device.Device;
import dev.jhv.core.device.PowerButton;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.inkernel.KvmClock;
import dev.jhv.core.inkernel.KvmIrqchip;
import dev.jhv.core.inkernel.KvmPit;
import dev.jhv.core.vcpu.CpuDevice;
import dev.jhv.core.vcpu.Vcpu;
import dev.jhv.core.vcpu.VcpuExitHandler;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A KVM virtual machine with its RAM, buses, vCPU threads and run state. Devices attach to its buses and IRQ
 * lines; a {@link BootProgram} puts the guest in RAM. Guest-initiated events (reset, power-off, exit) are
 * queued to a control thread so that a vCPU never waits on itself.
 */
public final class Machine implements MachineControl, AutoCloseable {
    private static final System.Logger LOG = System.getLogger("jhv.machine");

    /** A RAM range to map: guest-physical address and size. */
    /**
     * Guest RAM to allocate at {@code gpa}. A range {@code mappedByBoard} gets no KVM slot from the machine: the
     * board maps it itself, and changes the mapping at run time (the PC's shadow RAM under the PAM registers);
     * the dirty log then reports all of it at every sync, since KVM's log cannot follow a mapping that comes and goes.
     */
    public record RamRange(long gpa, long size, boolean mappedByBoard) {
        public RamRange(long gpa, long size) {
            this(gpa, size, false);
        }
    }

    private sealed interface Request {
        record Reset(String why) implements Request { }
        record PowerOff() implements Request { }
        record Exit(int status) implements Request { }
        record Failure(String message) implements Request { }
    }

    private final MachineConfig config;
    private final Kvm kvm;
    private final KvmVm vm;
    private final GsiRouter gsiRouter;
    private final List<MemorySegment> ram = new ArrayList<>();
    private final GuestMemory memory;
    private final DirtyLog dirtyLog;
    private final IoBus io = new IoBus();
    private final MmioBus mmio = new MmioBus();
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final List<RunStateListener> listeners = new CopyOnWriteArrayList<>();
    private final List<MachineEvent.Listener> eventListeners = new CopyOnWriteArrayList<>();
    private final LinkedBlockingQueue<Request> requests = new LinkedBlockingQueue<>();
    private final CompletableFuture<Integer> exitStatus = new CompletableFuture<>();
    /** A stop (false) or cont (true) given during inmigrate, which overrides -S when the load ends; or null. */
    private Boolean incomingAutostart;
    private final Object stateLock = new Object();
    private final MachineOperations operations = new MachineOperations();
    /** Why the guest may not run: a loadvm that failed part-way left a state no guest should run from; or null. */
    private String brokenState;
    private int[] msrIndices;
    private int nextMemorySlot;
    /** Every device, in registration order: vCPUs, the in-kernel irqchip, PIT and clock, then the board's. */
    private final List<Device> devices = new CopyOnWriteArrayList<>();
    private final List<CpuDevice> cpuDevices = new ArrayList<>();
    private KvmIrqchip irqchip;
    private KvmPit pit;
    private BootProgram bootProgram;
    /** Written under stateLock; read without it, so that "info status" answers while a load holds the lock. */
    private volatile RunState state = RunState.PRELAUNCH;
    private Thread control;

    private Machine(MachineConfig config, Kvm kvm, KvmVm vm, List<RamRange> ranges, GsiRoutingTable gsiRouting) {
        this.config = config;
        this.kvm = kvm;
        this.vm = vm;
        this.gsiRouter = new GsiRouter(vm, gsiRouting);
        List<GuestMemory.Region> regions = new ArrayList<>();
        List<DirtyLog.Slot> slots = new ArrayList<>();
        for (RamRange r : ranges) {
            MemorySegment seg = RamAllocator.map(r.size());
            ram.add(seg);
            var region = new GuestMemory.Region(r.gpa(), seg);
            if (r.mappedByBoard()) {
                slots.add(new DirtyLog.Slot(DirtyLog.Slot.UNTRACKED, region));
            } else {
                int slot = newMemorySlot();
                vm.setUserMemoryRegion(slot, 0, r.gpa(), seg);
                slots.add(new DirtyLog.Slot(slot, region));
            }
            regions.add(region);
        }
        this.memory = new GuestMemory(regions);
        // in the memory's (address) order, as the log reports its bitmaps
        slots.sort(java.util.Comparator.comparingLong(s -> s.region().gpa()));
        this.dirtyLog = new DirtyLog(vm, memory, slots);
    }

    /**
     * The part of a machine that no option changes: /dev/kvm open and a VM with its TSS, identity map, in-kernel
     * irqchip and PIT (the GSI routing is the board's, set by {@link Machine#create}). Made ahead (while the command line is parsed) or by {@link #create}.
     */
    public record KvmBase(Kvm kvm, KvmVm vm) implements AutoCloseable {
        public static KvmBase open() {
            Kvm kvm = Kvm.open();
            StartupTrace.mark("/dev/kvm open");
            KvmVm vm = null;
            try {
                vm = kvm.createVm();
                vm.setTssAddr(KvmVm.TSS_ADDR);
                vm.setIdentityMapAddr(KvmVm.IDENTITY_MAP_ADDR); // must precede the first vCPU
                vm.createIrqchip();
                vm.createPit2();
                StartupTrace.mark("vm with irqchip and pit");
                return new KvmBase(kvm, vm);
            } catch (SysCallException e) {
                if (vm != null) {
                    vm.close();
                }
                kvm.close();
                throw new MachineException("failed to initialize kvm: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            vm.close();
            kvm.close();
        }
    }

    /**
     * Builds the machine on {@code base} (see {@link KvmBase#open}), which it owns from here on (closed if this
     * fails): the board's GSI routing (which GSI drives which irqchip pin), RAM slots, the vCPUs and their MSR list.
     * Fails with a {@link MachineException} whose message is fit for the terminal.
     */
    public static Machine create(MachineConfig config, List<RamRange> ranges, KvmBase base,
                                 GsiRoutingTable gsiRouting) {
        Kvm kvm = base.kvm();
        KvmVm vm = base.vm();
        try {
            int max = kvm.maxVcpus();
            int cpus = config.smp().cpus();
            if (cpus > max) {
                throw new MachineException(String.format(
                        "Number of SMP CPUs requested (%d) exceeds max CPUs supported by machine 'pc' (%d)", cpus, max));
            }
            HostMemory.checkGuestRam("pc.ram", ranges.stream().mapToLong(RamRange::size).sum());
            Machine m = new Machine(config, kvm, vm, ranges, gsiRouting);
            Topology topo = m.topology();
            for (int i = 0; i < cpus; i++) {
                // KVM's vCPU id is the local APIC id, which the topology may leave sparse.
                m.vcpus.add(new Vcpu(i, vm.createVcpu(topo.apicId(i)), m.io, m.mmio, m.exitHandler()));
            }
            StartupTrace.mark("vcpus created");
            m.msrIndices = m.probeMsrs();
            m.registerCoreState();
            StartupTrace.mark("msrs probed");
            return m;
        } catch (SysCallException e) {
            base.close();
            throw new MachineException("failed to initialize kvm: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
    }

    /** vCPUs, the in-kernel irqchip and PIT, and the KVM clock: the devices every machine has. */
    private void registerCoreState() {
        for (Vcpu v : vcpus) {
            CpuDevice cpu = new CpuDevice(v.index(), v.kvm(), msrIndices);
            cpuDevices.add(cpu);
            addDevice(cpu);
        }
        irqchip = new KvmIrqchip(vm);
        pit = new KvmPit(vm);
        addDevice(irqchip);
        addDevice(pit);
        addDevice(new KvmClock(vm));
    }

    private volatile Supplier<String> cpuidDigest = () -> "";
    private String cpuidDigestValue;

    /** A digest of the CPUID the guest sees (set by whoever configures CPUID); migration compares it. */
    public synchronized String cpuidDigest() {
        if (cpuidDigestValue == null) {
            cpuidDigestValue = cpuidDigest.get();
        }
        return cpuidDigestValue;
    }

    /** Computed on first use: only saves and loads need it, and hashing at start-up costs start-up time. */
    public synchronized void setCpuidDigest(Supplier<String> digest) {
        this.cpuidDigest = digest;
        this.cpuidDigestValue = null;
    }

    /**
     * Adds a device (before the machine starts): reset, paused and resumed with the machine, closed at its end,
     * and its state carried by save/restore and migration if it is {@link Stateful}.
     */
    public void addDevice(Device device) {
        devices.add(device);
    }

    public List<Device> devices() {
        return List.copyOf(devices);
    }

    /** Every stateful device's section, in registration order (vCPUs and irqchip first, then the board's). */
    public List<StateSection<?>> stateSections() {
        List<StateSection<?>> out = new ArrayList<>();
        for (Device d : devices) {
            if (d instanceof Stateful<?> s) {
                out.add(StateSection.of(s));
            }
        }
        return out;
    }

    /** The MSRs KVM lists for save/restore that this vCPU can actually read. */
    private int[] probeMsrs() {
        KvmVcpu v = vcpus.getFirst().kvm();
        List<Integer> ok = new ArrayList<>();
        for (int idx : kvm.msrIndexList()) {
            try {
                v.getMsrs(new int[] {idx});
                ok.add(idx);
            } catch (SysCallException e) {
                LOG.log(System.Logger.Level.DEBUG, "MSR 0x{0} not readable", Integer.toHexString(idx));
            }
        }
        return ok.stream().mapToInt(Integer::intValue).toArray();
    }

    private VcpuExitHandler exitHandler() {
        return new VcpuExitHandler() {
            @Override
            public void resetRequested(Vcpu vcpu, String why) {
                requests.add(new Request.Reset(why));
            }

            @Override
            public void shutdownRequested(Vcpu vcpu) {
                requests.add(new Request.PowerOff());
            }

            @Override
            public void internalError(Vcpu vcpu, String message) {
                requests.add(new Request.Failure(message));
            }
        };
    }

    /** Sockets, cores and threads as -smp gave them: APIC ids, CPUID topology leaves and the MADT follow it. */
    public Topology topology() {
        MachineConfig.Smp smp = config.smp();
        return new Topology(smp.sockets(), smp.cores(), smp.threads());
    }

    public MachineConfig config() {
        return config;
    }

    public KvmVm vm() {
        return vm;
    }

    public Kvm kvm() {
        return kvm;
    }

    public GuestMemory memory() {
        return memory;
    }

    /** The log of pages written since the last look, for migration (off until started). */
    public DirtyLog dirtyLog() {
        return dirtyLog;
    }

    public IoBus ioBus() {
        return io;
    }

    public MmioBus mmioBus() {
        return mmio;
    }

    public List<Vcpu> vcpus() {
        return List.copyOf(vcpus);
    }

    /** A KVM memory slot number no one uses yet, for memory the board maps itself (firmware ROM, shadow RAM). */
    public synchronized int newMemorySlot() {
        return nextMemorySlot++;
    }

    public int[] msrIndices() {
        return msrIndices.clone();
    }

    /** The GSIs: routing table, MSI GSIs, shared level lines. */
    public GsiRouter gsiRouter() {
        return gsiRouter;
    }

    /** A new source of a GSI of the in-kernel irqchip, for one device (see {@link GsiRouter#source}). */
    public IrqLine irqLine(int gsi) {
        return gsiRouter.source(gsi);
    }

    /** Requests from devices: reset line, ACPI sleep, debug exit. Safe from any thread. */
    public void requestReset() {
        requests.add(new Request.Reset("guest request"));
    }

    public void requestPowerOff() {
        requests.add(new Request.PowerOff());
    }

    public void requestExit(int status) {
        requests.add(new Request.Exit(status));
    }

    /**
     * Loads the boot program, records the power-on state of every vCPU and the irqchip for resets, starts the
     * vCPU threads (parked) and the control thread, and runs the guest unless the configuration says -S.
     */
    public void start(BootProgram boot) {
        startParked(boot);
        if (!config.startPaused()) {
            cont();
        }
    }

    private void startParked(BootProgram boot) {
        this.bootProgram = boot;
        boot.load(this);
        for (CpuDevice c : cpuDevices) {
            c.recordPowerOn();
        }
        irqchip.recordPowerOn();
        pit.recordPowerOn();
        pauseDevices(); // they run when the vCPUs do
        for (Vcpu v : vcpus) {
            v.start();
        }
        control = Thread.ofPlatform().name("machine-control").daemon(true).start(this::controlLoop);
    }

    /**
     * Like {@link #start} for a destination of -incoming: the vCPU threads exist but stay parked in
     * {@code inmigrate} until {@link #finishIncoming} after the stream has loaded.
     */
    public void startIncoming(BootProgram boot) {
        synchronized (stateLock) {
            startParked(boot);
            setState(RunState.INMIGRATE);
        }
    }

    /**
     * After an incoming stream loaded: paused, then running unless {@code autostart} is false (-S). A stop or cont
     * given while it loaded decides instead, as in QEMU.
     */
    public void finishIncoming(boolean autostart) {
        synchronized (stateLock) {
            setState(RunState.PAUSED);
            if (incomingAutostart != null ? incomingAutostart : autostart) {
                cont();
            }
        }
    }

    /**
     * Parks every vCPU for a save or an outgoing migration and enters {@code during} (save-vm, finish-migrate);
     * returns the state to give back to {@link #leaveSaveState} if the save fails.
     */
    public RunState enterSaveState(RunState during) {
        synchronized (stateLock) {
            RunState before = state;
            pauseAll();
            setState(during);
            return before;
        }
    }

    /** Ends a save: {@code next} is the state before it (failure, savevm) or postmigrate; running resumes vCPUs. */
    public void leaveSaveState(RunState next) {
        synchronized (stateLock) {
            setState(next);
            if (next == RunState.RUNNING) {
                resumeAll();
            }
        }
    }

    /**
     * Loads state into the parked machine (loadvm): vCPUs parked in restore-vm, the previous state after. If the
     * load fails and {@code brokenIfFails} is not null, the guest stays paused in restore-vm (as QEMU leaves it) and
     * {@code cont} is refused with that text until a load succeeds or a reset: a part-loaded guest must not run.
     */
    public void withStateRestore(Runnable load, String brokenIfFails) {
        synchronized (stateLock) {
            RunState before = enterSaveState(RunState.RESTORE_VM);
            boolean loaded = false;
            try {
                load.run();
                loaded = true;
                brokenState = null;
            } finally {
                if (loaded || brokenIfFails == null) {
                    leaveSaveState(before == RunState.RESTORE_VM ? RunState.PAUSED : before);
                } else {
                    brokenState = brokenIfFails;
                }
            }
        }
    }

    private void controlLoop() {
        while (!exitStatus.isDone()) {
            Request r;
            try {
                r = requests.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                handle(r);
            } catch (MachineOperations.MachineEndedException e) {
                return; // quitting: what the guest asked for no longer matters
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "machine control failed", e);
                System.err.println("jhv: " + e.getMessage());
                exitStatus.complete(1);
            }
        }
    }

    private void handle(Request r) {
        switch (r) {
            case Request.Exit(int status) -> exitStatus.complete(status);
            case Request.PowerOff() -> {
                fire(new MachineEvent.Shutdown(true, "guest-shutdown"));
                if (config.noShutdown()) {
                    pauseVcpus(RunState.SHUTDOWN);
                } else {
                    exitStatus.complete(0);
                }
            }
            case Request.Reset(String why) -> {
                fire(config.noReboot() ? new MachineEvent.Shutdown(true, "guest-reset")
                        : new MachineEvent.Reset(true, "guest-reset"));
                if (config.noReboot()) {
                    exitStatus.complete(0);
                } else {
                    LOG.log(System.Logger.Level.DEBUG, "system reset ({0})", why);
                    // after a save or a migration under way, never into the middle of it (a running migration
                    // used to refuse it, and the refusal ended jhv)
                    operations.guestOperation(this::reset);
                }
            }
            case Request.Failure(String message) -> {
                System.err.println("jhv: " + message);
                pauseVcpus(RunState.INTERNAL_ERROR);
            }
        }
    }

    private void pauseVcpus(RunState next) {
        synchronized (stateLock) {
            pauseAll();
            setState(next);
        }
    }

    /** The vCPUs first (nothing the guest runs changes a device after this), then every device. */
    private void pauseAll() {
        for (Vcpu v : vcpus) {
            v.pause();
        }
        pauseDevices();
    }

    private void pauseDevices() {
        for (Device d : devices) {
            d.pause();
        }
    }

    /** Devices first (their timers re-armed, input taken), then the vCPUs. */
    private void resumeAll() {
        for (Device d : devices) {
            d.resume();
        }
        for (Vcpu v : vcpus) {
            v.resume();
        }
    }

    /** Every device (vCPUs, irqchip, PIT first) to its reset state, then the boot program again. */
    private void reset() {
        synchronized (stateLock) {
            RunState before = state;
            pauseAll();
            for (Device d : devices) {
                d.reset();
            }
            bootProgram.load(this);
            brokenState = null;
            // The boot program set the BSP's registers again; the rest of its state is the power-on state.
            if (before == RunState.RUNNING) {
                resumeAll();
            }
        }
    }

    private void setState(RunState next) {
        RunState prev;
        synchronized (stateLock) {
            prev = state;
            state = next;
        }
        if (prev != next) {
            for (RunStateListener l : listeners) {
                l.runStateChanged(prev, next);
            }
        }
    }

    /** Completes with the process exit status when the machine ends (power-off, -no-reboot reset, quit). */
    public CompletableFuture<Integer> exitStatus() {
        return exitStatus;
    }

    @Override
    public RunState runState() {
        return state;
    }

    @Override
    public void stop() {
        operations.access(() -> {
            synchronized (stateLock) {
                if (state == RunState.RUNNING) {
                    pauseVcpus(RunState.PAUSED);
                } else if (state == RunState.INMIGRATE) {
                    incomingAutostart = false; // stays paused once loaded
                }
            }
        });
    }

    @Override
    public void cont() {
        operations.access(this::contLocked);
    }

    private void contLocked() {
        synchronized (stateLock) {
            if (brokenState != null && state != RunState.INMIGRATE && state != RunState.RUNNING) {
                throw new IllegalStateException(brokenState);
            }
            switch (state) {
                case RUNNING -> { }
                case SHUTDOWN, INTERNAL_ERROR -> throw new IllegalStateException(
                        "Resetting the Virtual Machine is required");
                case INMIGRATE -> incomingAutostart = true; // runs once loaded
                case SAVE_VM, RESTORE_VM, FINISH_MIGRATE -> throw new IllegalStateException(
                        "the machine is busy saving or loading its state");
                default -> {
                    setState(RunState.RUNNING);
                    resumeAll();
                }
            }
        }
    }

    @Override
    public void systemReset() {
        // the loader is writing the devices and vCPUs a reset would: the monitor's reset waits for the guest
        requireNotIncoming();
        fire(config.noReboot() ? new MachineEvent.Shutdown(false, "host-qmp-system-reset")
                : new MachineEvent.Reset(false, "host-qmp-system-reset"));
        if (config.noReboot()) {
            exitStatus.complete(0); // as QEMU: with -no-reboot every reset ends the process
            return;
        }
        operations.operation(() -> {
            synchronized (stateLock) {
                boolean wasStopped = state == RunState.SHUTDOWN || state == RunState.INTERNAL_ERROR
                        || brokenState != null;
                reset();
                if (wasStopped) {
                    setState(RunState.PAUSED);
                }
            }
        });
    }

    /** Runs a callback with all vCPUs parked, restoring the previous run state after. */
    public void withVcpusPaused(Consumer<Machine> action) {
        synchronized (stateLock) {
            boolean running = state == RunState.RUNNING;
            pauseAll();
            try {
                action.accept(this);
            } finally {
                if (running) {
                    resumeAll();
                }
            }
        }
    }

    @Override
    public void systemPowerdown() {
        requireNotIncoming(); // the button's event would be lost under the loaded PM state
        fire(new MachineEvent.Powerdown());
        operations.operation(() -> { // not into a save's device state
            for (Device d : devices) {
                if (d instanceof PowerButton b) {
                    b.press();
                }
            }
        });
    }

    /** Ends the machine: a save or load under way finishes first (a migration is cancelled), as in QEMU. */
    @Override
    public void quit() {
        if (!exitStatus.isDone()) {
            fire(new MachineEvent.Shutdown(false, "host-qmp-quit"));
        }
        operations.beginEnd();
        exitStatus.complete(0);
    }

    /** The lock that orders state operations with each other and with the end of the machine. */
    public MachineOperations operations() {
        return operations;
    }

    @Override
    public List<CpuInfo> cpus() {
        return operations.access(this::readCpus);
    }

    private List<CpuInfo> readCpus() {
        List<CpuInfo> out = new ArrayList<>();
        synchronized (stateLock) {
            boolean running = state == RunState.RUNNING;
            for (Vcpu v : vcpus) {
                long pc = 0;
                boolean halted = false;
                if (!running) {
                    pc = new dev.jhv.core.kvm.Regs(v.kvm().getRegs().raw()).get(dev.jhv.core.kvm.Regs.Reg.RIP);
                    halted = v.kvm().getMpState() == KvmIoctls.MP_STATE_HALTED;
                }
                out.add(new CpuInfo(v.index(), v.threadId(), pc, halted));
            }
        }
        return out;
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public void addRunStateListener(RunStateListener listener) {
        listeners.add(listener);
    }

    @Override
    public void addEventListener(MachineEvent.Listener listener) {
        eventListeners.add(listener);
    }

    /** Tells the event listeners (QMP) of something another part of the VMM did: a migration's progress. */
    public void publish(MachineEvent event) {
        fire(event);
    }

    private void fire(MachineEvent event) {
        for (MachineEvent.Listener l : eventListeners) {
            l.machineEvent(event);
        }
    }

    /** How long the end of a machine waits for a save or load under way before it leaves RAM to the exit. */
    public static final long END_TIMEOUT_MS = 60_000;

    /**
     * Stops the vCPU threads and releases KVM and RAM, once no operation uses them; if one still does after
     * {@link #END_TIMEOUT_MS}, they are left for the process's exit to release.
     */
    @Override
    public void close() {
        if (!operations.end(END_TIMEOUT_MS)) {
            System.err.println("jhv: a save or load did not finish; leaving guest memory to the process exit");
            return;
        }
        for (Vcpu v : vcpus) {
            v.stop();
        }
        if (control != null) {
            control.interrupt();
        }
        for (Vcpu v : vcpus) {
            v.kvm().close();
        }
        for (Device d : devices.reversed()) {
            try {
                d.close();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "closing " + d.id() + " failed", e);
            }
        }
        dirtyLog.close();
        vm.close();
        kvm.close();
        for (MemorySegment seg : ram) {
            RamAllocator.unmap(seg);
        }
    }
}
