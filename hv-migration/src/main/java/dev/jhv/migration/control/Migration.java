package dev.jhv.migration.control;

import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.RunState;
import dev.jhv.core.trace.StartupTrace;
import dev.jhv.migration.machine.MachineState;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.channel.MigrationChannel;
import dev.jhv.migration.channel.MigrationUri;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Outgoing and incoming migration of a whole machine through a {@link MigrationUri}. The outgoing side stops the
 * guest, writes everything, and leaves the source in postmigrate; if anything fails the source goes back to the
 * state it had, running or paused, with nothing lost.
 */
public final class Migration {
    private final MigrationStatus status = new MigrationStatus();

    public MigrationStatus status() {
        return status;
    }

    /** Migrates the machine out; throws with a message for the monitor when it fails (the source then resumes). */
    public void migrate(Machine m, String uriText) {
        m.requireNotIncoming();
        MigrationUri uri = MigrationUri.parse(uriText);
        Thread self = Thread.currentThread();
        // a quit cancels it: the interrupt closes the channel, the save fails and the source resumes
        m.operations().migration(self::interrupt, () -> {
            save(m, uri);
            return null;
        });
        Thread.interrupted(); // a cancel that came as the save ended must not reach the monitor's next command
    }

    private void save(Machine m, MigrationUri uri) {
        status.begin(m.memory().totalSize());
        RunState before = m.enterSaveState(RunState.FINISH_MIGRATE);
        long start = System.nanoTime();
        try (MigrationChannel.Out ch = MigrationChannel.openOutgoing(uri)) {
            long bytes = MachineState.save(m, ch.stream);
            ch.stream.flush();
            ch.close();
            status.completed(bytes, (System.nanoTime() - start) / 1_000_000);
            m.leaveSaveState(RunState.POSTMIGRATE);
        } catch (IOException | RuntimeException e) {
            String why = reason(e);
            status.failed(why);
            m.leaveSaveState(before);
            throw new IllegalStateException("migration failed: " + why, e);
        }
    }

    /**
     * Why a migration failed, in a line for the monitor: an exec: command that failed is the cause (a broken pipe is
     * only how jhv noticed), an I/O error says what the system said.
     */
    public static String reason(Exception e) {
        Throwable t = e instanceof UncheckedIOException u && u.getCause() != null ? u.getCause() : e;
        String what = t.getMessage() == null ? t.toString() : t.getMessage();
        for (Throwable s : e.getSuppressed()) {
            if (s instanceof MigrationChannel.CommandFailed failed) {
                return failed.getMessage() + " (" + what + ")";
            }
        }
        return what;
    }

    /** Loads an incoming stream into a machine started with {@link Machine#startIncoming}. */
    public static void incoming(Machine m, String uriText) {
        MigrationUri uri = MigrationUri.parse(uriText);
        try (MigrationChannel.In ch = MigrationChannel.openIncoming(uri)) {
            StartupTrace.mark("incoming: channel open");
            try {
                MachineState.load(m, ch.stream);
            } catch (MigrationException e) {
                // a command that failed explains a stream that ended (or never began)
                String failed = ch.commandFailure();
                if (failed != null) {
                    throw new MigrationException(failed + "; " + e.getMessage(), e);
                }
                throw e;
            }
            StartupTrace.mark("incoming: state loaded");
        } catch (IOException e) {
            throw new MigrationException("load of migration failed: " + e.getMessage(), e);
        } catch (MigrationException e) {
            throw new MigrationException("load of migration failed: " + e.getMessage(), e);
        }
    }
}
