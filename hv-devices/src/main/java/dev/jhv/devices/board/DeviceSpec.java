package dev.jhv.devices.board;

/**
 * A device of the command line (-device, and what -drive and -netdev imply), as the board builds it. A new kind of
 * device is a new member here and a case in the board: nothing in hv-core changes.
 */
public sealed interface DeviceSpec {
    /** -device isa-debug-exit,iobase=…,iosize=… */
    record IsaDebugExit(int iobase, int iosize) implements DeviceSpec { }
}
