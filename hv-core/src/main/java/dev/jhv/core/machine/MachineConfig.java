package dev.jhv.core.machine;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything the command line says about the machine to build. Built by the launcher, consumed by {@code Machine}.
 * Character devices are given as already-open back ends by the launcher, not here.
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
        List<Drive> drives) {

    /** -smp: cpus and topology (sockets * cores * threads >= maxCpus). */
    public record Smp(int cpus, int maxCpus, int sockets, int cores, int threads) {
        public static Smp of(int cpus) {
            return new Smp(cpus, cpus, cpus, 1, 1);
        }
    }

    /** -device isa-debug-exit,iobase=…,iosize=… */
    public record IsaDebugExit(int iobase, int iosize) { }

    /** -drive file=…,format=…,if=…,id=…,readonly=… (and the positional disk image). */
    public record Drive(Path file, String format, String iface, String id, boolean readOnly) { }

    public MachineConfig {
        debugExits = List.copyOf(debugExits);
        drives = List.copyOf(drives);
    }
}
