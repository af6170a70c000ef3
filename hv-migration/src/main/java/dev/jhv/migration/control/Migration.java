package dev.jhv.migration.control;

import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.MachineOperations;
import dev.jhv.core.trace.StartupTrace;
import dev.jhv.migration.machine.MachineState;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.channel.MigrationChannel;
import dev.jhv.migration.channel.MigrationUri;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A machine's migrations: the outgoing one (live precopy on its own thread, see {@link LiveMigration}), its
 * status, parameters and capabilities, and the loading of an incoming stream. The source never loses its guest:
 * until the destination has acknowledged the whole stream, any failure or a cancel resumes it as it was.
 */
public final class Migration {
    private final MigrationStatus status = new MigrationStatus();
    private volatile MigrationParameters parameters = MigrationParameters.DEFAULTS;
    private volatile MigrationCapabilities capabilities = MigrationCapabilities.NONE;
    private LiveMigration running;
    private Thread thread;

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
        Thread t;
        synchronized (this) {
            if (status.state().running() || m.operations().migrationActive()) {
                throw new IllegalStateException(MachineOperations.MIGRATION_ACTIVE);
            }
            if (m.operations().ending()) {
                throw new MachineOperations.MachineEndedException();
            }
            LiveMigration live = new LiveMigration(m, uri, this::parameters, status);
            status.setListener(new MigrationStatus.Listener() {
                @Override
                public void state(MigrationStatus.State s) {
                    if (capabilities.enabled("events")) {
                        m.publish(new dev.jhv.core.machine.MachineEvent.Migration(s.qemuName()));
                    }
                }

                @Override
                public void pass(long pass) {
                    if (capabilities.enabled("events")) {
                        m.publish(new dev.jhv.core.machine.MachineEvent.MigrationPass(pass));
                    }
                }
            });
            status.begin(m.memory().totalSize());
            running = live;
            t = Thread.ofPlatform().name("migration").daemon(true).unstarted(live::run);
            thread = t;
            t.start();
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

    /** The old blocking form: migrate and wait. */
    public void migrate(Machine m, String uriText) {
        migrate(m, uriText, false);
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

    /** Waits for the migration thread (tests, quit). */
    public void awaitEnd(long millis) throws InterruptedException {
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            t.join(millis);
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

    /** Binds an incoming URI now (a port in use is refused at start, as QEMU does). */
    public static MigrationChannel.Listener listen(String uriText) {
        MigrationUri uri = MigrationUri.parse(uriText);
        try {
            return MigrationChannel.listen(uri);
        } catch (IOException e) {
            throw new MigrationException(e.getMessage(), e);
        }
    }

    /**
     * Loads an incoming stream into a machine started with {@link Machine#startIncoming}; over a socket, answers
     * the source: acknowledged once the whole stream is loaded, or refused with the reason.
     */
    public static void incoming(Machine m, MigrationChannel.Listener listener) {
        if (listener.uri().hasReturnPath()) {
            // while the source has not come yet: the vCPUs are parked in inmigrate, nothing else loads
            try {
                MachineState.warmUp(m, true);
            } catch (RuntimeException e) {
                // only a loss of speed
            }
        }
        try (MigrationChannel.In ch = listener.accept()) {
            StartupTrace.mark("incoming: channel open");
            ReturnPath back = ch.returnPath == null ? null : new ReturnPath(ch.returnPath);
            var counted = new CountingInputStream(ch.stream);
            Thread reporter = back == null ? null : Thread.ofPlatform().name("migration-progress").daemon(true)
                    .start(() -> report(back, counted));
            try {
                MachineState.load(m, counted);
            } catch (MigrationException | UncheckedIOException e) {
                String why = e instanceof UncheckedIOException u ? reason(u) : e.getMessage();
                // a command that failed explains a stream that ended (or never began)
                String failed = ch.commandFailure();
                MigrationException error = new MigrationException(failed != null ? failed + "; " + why : why, e);
                stop(reporter);
                answer(back, error.getMessage());
                drain(ch);
                throw error;
            }
            stop(reporter);
            answer(back, null);
            StartupTrace.mark("incoming: state loaded");
        } catch (IOException e) {
            throw new MigrationException("load of migration failed: " + e.getMessage(), e);
        } catch (MigrationException e) {
            throw new MigrationException("load of migration failed: " + e.getMessage(), e);
        } finally {
            try {
                listener.close();
            } catch (IOException e) {
                // the socket file is left; nothing else depends on it
            }
        }
    }

    public static void incoming(Machine m, String uriText) {
        incoming(m, listen(uriText));
    }

    /** Tells the source every 20 ms how far the load has read, so it can count the backlog into the downtime. */
    private static void report(ReturnPath back, CountingInputStream counted) {
        long last = -1;
        try {
            while (true) {
                Thread.sleep(20); // the reporting period
                long now = counted.count();
                if (now != last) {
                    back.progress(now);
                    last = now;
                }
            }
        } catch (InterruptedException | IOException e) {
            // the load ended, or the source is gone
        }
    }

    private static void stop(Thread reporter) {
        if (reporter != null) {
            reporter.interrupt();
            try {
                reporter.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Counts what the loader has read of the stream. */
    private static final class CountingInputStream extends java.io.FilterInputStream {
        private volatile long count;

        CountingInputStream(java.io.InputStream in) {
            super(in);
        }

        long count() {
            return count;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }
    }

    /**
     * After a refusal, reads on (bounded) until the source hangs up: closing with unread data would reset the
     * connection, and a reset can drop the refusal before the source reads it.
     */
    private static void drain(MigrationChannel.In ch) {
        if (ch.returnPath == null) {
            return;
        }
        Thread closer = Thread.ofPlatform().name("migration-drain").daemon(true).start(() -> {
            try {
                Thread.sleep(5000); // the bound of the drain, not a synchronisation
                ch.close();
            } catch (InterruptedException | IOException e) {
                // drained in time, or closed already
            }
        });
        try {
            ch.stream.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException e) {
            // the source hung up or the bound closed it
        } finally {
            closer.interrupt();
        }
    }

    /** The destination's word on the return path: acknowledged (null) or refused with the reason. */
    private static void answer(ReturnPath returnPath, String refusal) {
        if (returnPath == null) {
            return;
        }
        try {
            returnPath.answer(refusal);
        } catch (IOException e) {
            // the source is gone: it resumes by itself when it sees the connection drop
        }
    }
}
