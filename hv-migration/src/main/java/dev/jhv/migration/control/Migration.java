package dev.jhv.migration.control;

import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.MachineEvent;
import dev.jhv.core.machine.MachineOperations;
import dev.jhv.migration.channel.MigrationChannel;
import dev.jhv.migration.channel.MigrationUri;

import java.io.UncheckedIOException;

/**
 * A machine's outgoing migration (live precopy on its own thread, see {@link LiveMigration}), its status,
 * parameters and capabilities; {@link IncomingMigration} loads the other end. The source never loses its guest:
 * until the destination has acknowledged the whole stream, any failure or a cancel resumes it as it was.
 */
public final class Migration {
    private final MigrationStatus status = new MigrationStatus();
    private volatile MigrationParameters parameters = MigrationParameters.DEFAULTS;
    private volatile MigrationCapabilities capabilities = MigrationCapabilities.NONE;
    private LiveMigration running;

    public MigrationStatus status() {
        return status;
    }

    public MigrationParameters parameters() {
        return parameters;
    }

    public MigrationCapabilities capabilities() {
        return capabilities;
    }

    /** Changes a parameter; a running migration sees the new value (bandwidth, downtime limit) at once. */
    public synchronized void setParameters(MigrationParameters p) {
        parameters = p;
    }

    /** Capabilities cannot change under a running migration, as in QEMU. */
    public synchronized void setCapabilities(MigrationCapabilities c) {
        if (status.state().running()) {
            throw new IllegalStateException(MachineOperations.MIGRATION_ACTIVE);
        }
        capabilities = c;
    }

    /**
     * Starts migrating the machine to {@code uriText} on the "migration" thread; with {@code detach} false, waits
     * for the end and throws with the reason if it failed (QEMU's migrate without -d).
     *
     * @throws IllegalArgumentException for a bad URI, IllegalStateException if one already runs
     */
    public void migrate(Machine m, String uriText, boolean detach) {
        m.requireNotIncoming();
        MigrationUri uri = MigrationUri.parse(uriText);
        dev.jhv.migration.tls.Tls.check(parameters.tlsCreds(), uri); // refused now, as QEMU's migrate does
        Thread t;
        synchronized (this) {
            if (status.state().running() || m.operations().migrationActive()) {
                throw new IllegalStateException(MachineOperations.MIGRATION_ACTIVE);
            }
            if (m.operations().ending()) {
                throw new MachineOperations.MachineEndedException();
            }
            LiveMigration live = new LiveMigration(m, uri, this::parameters, status, capabilities);
            live.postcopyCapable(capabilities.enabled("postcopy-ram"));
            status.setListener(new MigrationStatus.Listener() {
                @Override
                public void state(MigrationStatus.State s) {
                    event(m, new MachineEvent.Migration(s.qemuName()));
                }

                @Override
                public void pass(long pass) {
                    event(m, new MachineEvent.MigrationPass(pass));
                }
            });
            status.begin(m.memory().totalSize());
            running = live;
            t = Thread.ofPlatform().name("migration").daemon(true).start(live::run);
        }
        if (detach) {
            return;
        }
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        var info = status.info();
        if (info.state() == MigrationStatus.State.FAILED) {
            throw new IllegalStateException("migration failed: " + info.error());
        }
        if (info.state() == MigrationStatus.State.CANCELLED) {
            throw new IllegalStateException("migration cancelled");
        }
    }

    /** QMP's MIGRATION and MIGRATION_PASS events, sent only with the events capability, as QEMU's. */
    private void event(Machine m, MachineEvent e) {
        if (capabilities.enabled("events")) {
            m.publish(e);
        }
    }

    /**
     * migrate_start_postcopy: a precopy under way switches to postcopy at its next chunk (QEMU's errors otherwise).
     */
    public void startPostcopy() {
        if (!capabilities.enabled("postcopy-ram")) {
            throw new IllegalStateException("Enable postcopy with migrate_set_capability before the start of "
                    + "migration");
        }
        LiveMigration live;
        synchronized (this) {
            var s = status.state();
            live = s == MigrationStatus.State.SETUP || s == MigrationStatus.State.ACTIVE ? running : null;
        }
        if (live == null) {
            throw new IllegalStateException("Postcopy must be started after migration has been started");
        }
        live.startPostcopy();
    }

    /** migrate -r URI (QMP migrate with resume): a postcopy paused by a lost link goes on over {@code uriText}. */
    public void resume(String uriText) {
        MigrationUri uri = MigrationUri.parse(uriText);
        LiveMigration live;
        synchronized (this) {
            live = status.state() == MigrationStatus.State.POSTCOPY_PAUSED ? running : null;
        }
        if (live == null) {
            throw new IllegalStateException("Cannot resume if there is no paused migration");
        }
        live.resume(uri);
    }

    /** migrate_cancel: a running migration stops and the source resumes; nothing running is not an error. */
    public void cancel() {
        LiveMigration live;
        synchronized (this) {
            live = status.state().running() ? running : null;
        }
        if (live != null) {
            live.cancel();
        }
    }

    /**
     * Why a migration failed, in a line for the monitor: an exec: command that failed is the cause (a broken pipe is
     * only how jhv noticed), an I/O error says what the system said.
     */
    public static String reason(Exception e) {
        Throwable t = e;
        if (e instanceof UncheckedIOException u && u.getCause() != null) {
            // jhv's own wrappers carry a message for people; the JDK's default message is the cause's toString
            boolean own = u.getMessage() != null && !u.getMessage().equals(u.getCause().toString());
            t = own ? e : u.getCause();
        }
        String what = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        for (Throwable x : new Throwable[] {e, e.getCause()}) {
            if (x == null) {
                continue;
            }
            for (Throwable s : x.getSuppressed()) {
                if (s instanceof MigrationChannel.CommandFailed failed && !what.startsWith(failed.getMessage())) {
                    return failed.getMessage() + " (" + what + ")";
                }
            }
        }
        return what;
    }
}
