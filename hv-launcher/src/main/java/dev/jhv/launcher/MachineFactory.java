package dev.jhv.launcher;

import dev.jhv.core.chardev.CharBackend;
import dev.jhv.devices.board.BoardConfig;

/** Builds the machine the command line describes. The real one wraps hv-core's Machine; tests pass a fake. */
@FunctionalInterface
public interface MachineFactory {
    /**
     * Builds the machine without running it.
     *
     * @param config the parsed command line's board (machine, drives, devices, firmware)
     * @param com1   COM1's host side, or null for "-serial none" (no COM1 at all)
     * @throws RuntimeException whose message is one line for the user (printed as "jhv: message", exit status 1),
     *                          e.g. "-smp 300: KVM allows at most 288 vCPUs here"
     */
    MachineHandle create(BoardConfig config, CharBackend com1);

    /**
     * Start-up work that needs no configuration (open /dev/kvm, set up the FFM bindings), run by the launcher on a
     * daemon thread ("machine-prepare") while the command line is parsed: parsing costs tens of milliseconds
     * (picocli's Java 5 class files cannot go into the AOT cache), so both overlap. The launcher waits for it to end
     * before {@link #create}; it must not throw (failures are for create to report) and may be skipped entirely.
     */
    default void prepare() { }
}
