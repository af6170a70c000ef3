package dev.jhv.launcher;

import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.machine.MachineConfig;

/** Builds the machine the command line describes. The real one wraps hv-core's Machine; tests pass a fake. */
@FunctionalInterface
public interface MachineFactory {
    /**
     * Builds the machine without running it.
     *
     * @param config the parsed command line's machine part
     * @param com1   COM1's host side, or null for "-serial none" (no COM1 at all)
     * @throws RuntimeException whose message is one line for the user (printed as "jhv: message", exit status 1),
     *                          e.g. "-smp 300: KVM allows at most 288 vCPUs here"
     */
    MachineHandle create(MachineConfig config, CharBackend com1);
}
