package dev.jhv.core.machine;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * Orders what may touch the whole machine, as QEMU's big lock does: state operations (savevm, loadvm, migrate,
 * reset) run one at a time, and the machine's RAM and KVM descriptors are released only once nothing that reads
 * them is running. Monitors call in from their own threads, so without this a quit could unmap RAM under a save
 * and two saves could each restore the other's run state.
 *
 * <p>Lock order: {@link #access} (shared), then the operation lock, then the machine's state lock.
 */
public final class MachineOperations {
    /** QEMU's words when a state operation meets a running migration. */
    public static final String MIGRATION_ACTIVE = "There's a migration process in progress";

    /** Shared by everything that uses the machine's resources; taken exclusively by {@link #close}. */
    private final ReentrantReadWriteLock lifetime = new ReentrantReadWriteLock();
    /** Held for the whole of one state operation. */
    private final ReentrantLock operation = new ReentrantLock(true);
    private volatile boolean ending;
    /** The migration holding the operation lock, or null: how a quit cancels it (QEMU cancels, not waits). */
    private volatile Runnable migrationCancel;

    /** Thrown when the machine has ended or is ending: what is refused then, in words for the monitor. */
    public static final class MachineEndedException extends IllegalStateException {
        public MachineEndedException() {
            super("the machine is shutting down");
        }
    }

    /**
     * Runs {@code body} while the machine's resources stay in place (no state operation is excluded).
     *
     * @throws MachineEndedException once the machine is ending
     */
    public <T> T access(Supplier<T> body) {
        lifetime.readLock().lock();
        try {
            if (ending && !lifetime.isWriteLockedByCurrentThread() && lifetime.getReadHoldCount() == 1) {
                throw new MachineEndedException();
            }
            return body.get();
        } finally {
            lifetime.readLock().unlock();
        }
    }

    public void access(Runnable body) {
        access(() -> {
            body.run();
            return null;
        });
    }

    /**
     * Runs a state operation (savevm, loadvm, reset): it waits for one under way to end, as QEMU's monitor waits
     * for its lock, but a running migration refuses it with QEMU's message.
     */
    public <T> T operation(Supplier<T> body) {
        return access(() -> {
            if (operation.isHeldByCurrentThread()) {
                return body.get(); // a reset inside a load, say
            }
            if (migrationCancel != null) {
                throw new IllegalStateException(MIGRATION_ACTIVE);
            }
            operation.lock();
            try {
                if (migrationCancel != null) {
                    throw new IllegalStateException(MIGRATION_ACTIVE);
                }
                if (ending) {
                    throw new MachineEndedException();
                }
                return body.get();
            } finally {
                operation.unlock();
            }
        });
    }

    /**
     * A state operation the guest itself asked for (its reset): it cannot be refused, so it waits for one under way
     * to end, a running migration included (which resumes the source or leaves it in postmigrate), as QEMU's reset
     * waits for the lock a migration's completion holds. Refused only once the machine is ending.
     */
    public void guestOperation(Runnable body) {
        access(() -> {
            if (operation.isHeldByCurrentThread()) {
                body.run();
                return null;
            }
            operation.lock();
            try {
                if (ending) {
                    throw new MachineEndedException();
                }
                body.run();
                return null;
            } finally {
                operation.unlock();
            }
        });
    }

    public void operation(Runnable body) {
        operation(() -> {
            body.run();
            return null;
        });
    }

    /**
     * Runs an outgoing migration as a state operation; {@code cancel} stops it early when the machine ends
     * (it must make {@code body} fail soon, the source guest resuming as after any failed migration).
     */
    public <T> T migration(Runnable cancel, Supplier<T> body) {
        return operation(() -> {
            migrationCancel = cancel;
            try {
                return body.get();
            } finally {
                migrationEnding();
            }
        });
    }

    /**
     * Called by a migration about to give the machine back (postmigrate, or resumed after a failure): from here a
     * new state operation waits for the lock instead of being refused, so one issued the moment the run state
     * changes is not told a migration is still in progress.
     */
    public void migrationEnding() {
        migrationCancel = null;
    }

    /** True while a migration holds the operation lock. */
    public boolean migrationActive() {
        return migrationCancel != null;
    }

    /** From now on new operations and accesses are refused; a migration under way is cancelled. */
    public void beginEnd() {
        ending = true;
        Runnable cancel = migrationCancel;
        if (cancel != null) {
            cancel.run();
        }
    }

    public boolean ending() {
        return ending;
    }

    /**
     * Waits until nothing uses the machine, then holds it for good: the caller may release RAM and descriptors.
     *
     * @return false if something still held it after {@code timeoutMs}: the caller must then leave the resources
     *         to the process's exit rather than free them under a reader
     */
    public boolean end(long timeoutMs) {
        beginEnd();
        try {
            return lifetime.writeLock().tryLock(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
