package dev.jhv.core.device;

/**
 * A part of the machine with a lifecycle: the machine keeps one list of them and drives it. Devices run while the
 * vCPUs run: the machine pauses them after parking the vCPUs (stop, savevm, a migration's switchover, a load) and
 * resumes them before the vCPUs run again, so nothing changes guest-visible state while the state is taken.
 */
public interface Device {
    /** The device's name in messages and tests. */
    default String id() {
        return getClass().getSimpleName();
    }

    /** Machine reset (system_reset, a guest's reset): the device's reset state. Runs with the machine paused. */
    default void reset() {
    }

    /** Quiesces: no timer fires and no host input is taken until {@link #resume}. Idempotent. */
    default void pause() {
    }

    /** Runs again after {@link #pause}: timers re-armed from the current state, held-back input taken. */
    default void resume() {
    }

    /** Releases host resources (threads, descriptors); the machine is ending. */
    default void close() {
    }
}
