package dev.jhv.core.machine;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything the command line says about the machine to build. Built by the launcher, consumed by {@code Machine}.
 * Character devices are given as already-open back ends by the launcher, not here.
 * {@code incoming} is -incoming's URI and {@code loadvm} -loadvm's tag, null when not given.
 */
public record MachineConfig(
        String name,
        long memoryBytes,
        Smp smp,
        String cpuModel,
        Path kernel,
        Path initrd,
        String append,
        boolean startPaused,
        boolean noReboot,
        boolean noShutdown,
        List<IsaDebugExit> debugExits,
        List<Drive> drives,
        String incoming,
        String loadvm) {

    /** -smp: cpus and topology (sockets * cores * threads >= maxCpus). */
    public record Smp(int cpus, int maxCpus, int sockets, int cores, int threads) {
        public static Smp of(int cpus) {
            return new Smp(cpus, cpus, cpus, 1, 1);
        }
    }

    /** -device isa-debug-exit,iobase=…,iosize=… */
    public record IsaDebugExit(int iobase, int iosize) { }

    /**
     * -drive file=…,format=…,if=…,id=…,readonly=… (and the positional disk image); {@code option} is how the
     * command line gave it ({@code -drive file=…} as typed, or the image's name), for messages that quote it.
     */
    public record Drive(Path file, String format, String iface, String id, boolean readOnly, String option) {
        public Drive(Path file, String format, String iface, String id, boolean readOnly) {
            this(file, format, iface, id, readOnly, file.toString());
        }
    }

    public MachineConfig {
        debugExits = List.copyOf(debugExits);
        drives = List.copyOf(drives);
    }

    /** Without -incoming and -loadvm. */
    public MachineConfig(String name, long memoryBytes, Smp smp, String cpuModel, Path kernel, Path initrd,
                         String append, boolean startPaused, boolean noReboot, boolean noShutdown,
                         List<IsaDebugExit> debugExits, List<Drive> drives) {
        this(name, memoryBytes, smp, cpuModel, kernel, initrd, append, startPaused, noReboot, noShutdown, debugExits,
                drives, null, null);
    }

    /** The same machine, to be loaded from a migration stream (-incoming URI) before it runs. */
    public MachineConfig withIncoming(String uri) {
        return new MachineConfig(name, memoryBytes, smp, cpuModel, kernel, initrd, append, startPaused, noReboot,
                noShutdown, debugExits, drives, uri, loadvm);
    }

    /** The same machine, to start from an internal snapshot (-loadvm TAG). */
    public MachineConfig withLoadvm(String tag) {
        return new MachineConfig(name, memoryBytes, smp, cpuModel, kernel, initrd, append, startPaused, noReboot,
                noShutdown, debugExits, drives, incoming, tag);
    }
}
