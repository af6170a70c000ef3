package dev.jhv.core.machine;

/**
 * What happened to the machine besides run-state changes, as QMP's SHUTDOWN, RESET and POWERDOWN events report it.
 * {@code reason} is QEMU's ShutdownCause spelling ("guest-shutdown", "host-qmp-quit", "guest-reset", ...).
 */
public sealed interface MachineEvent {
    record Shutdown(boolean guest, String reason) implements MachineEvent { }

    record Reset(boolean guest, String reason) implements MachineEvent { }

    /** The power button was pressed (system_powerdown). */
    record Powerdown() implements MachineEvent { }

    /** An outgoing migration entered {@code status} (QEMU's MIGRATION event, sent with the events capability). */
    record Migration(String status) implements MachineEvent { }

    /** An outgoing migration began pass {@code pass} over dirty memory (QEMU's MIGRATION_PASS). */
    record MigrationPass(long pass) implements MachineEvent { }

    /** Notified on the thread that caused the event, before the machine acts on it. */
    @FunctionalInterface
    interface Listener {
        void machineEvent(MachineEvent event);
    }
}
