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
        String incoming,
        String loadvm) {

    /** -smp: cpus and topology (sockets * cores * threads >= maxCpus). */
    public record Smp(int cpus, int maxCpus, int sockets, int cores, int threads) {
        public static Smp of(int cpus) {
            return new Smp(cpus, cpus, cpus, 1, 1);
        }
    }

    /** Without -incoming and -loadvm. */
    public MachineConfig(String name, long memoryBytes, Smp smp, String cpuModel, Path kernel, Path initrd,
                         String append, boolean startPaused, boolean noReboot, boolean noShutdown) {
        this(name, memoryBytes, smp, cpuModel, kernel, initrd, append, startPaused, noReboot, noShutdown, null, null);
    }

    /** The same machine, to be loaded from a migration stream (-incoming URI) before it runs. */
    public MachineConfig withIncoming(String uri) {
        return new MachineConfig(name, memoryBytes, smp, cpuModel, kernel, initrd, append, startPaused, noReboot,
                noShutdown, uri, loadvm);
    }

    /** The same machine, to start from an internal snapshot (-loadvm TAG). */
    public MachineConfig withLoadvm(String tag) {
        return new MachineConfig(name, memoryBytes, smp, cpuModel, kernel, initrd, append, startPaused, noReboot,
                noShutdown, incoming, tag);
    }
}
