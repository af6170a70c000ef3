package dev.jhv.migration.control;

import dev.jhv.core.machine.Machine;
import dev.jhv.core.trace.StartupTrace;
import dev.jhv.migration.channel.MigrationChannel;
import dev.jhv.migration.channel.MigrationUri;
import dev.jhv.migration.machine.MachineState;
import dev.jhv.migration.postcopy.PostcopyIncoming;
import dev.jhv.migration.stream.MigrationException;

import java.io.IOException;
import java.io.UncheckedIOException;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An -incoming stream loaded on its own thread into a machine in {@code inmigrate}. Loading may begin before the
 * launcher has opened the monitors (their sockets take Netty's start-up), but the guest runs only once the launcher
 * has {@link #release released} it: loaded and released, it pauses or, without -S, runs. A failed load ends jhv with
 * status 1, as QEMU does. {@link #cancel} stops a load that is still reading, so the machine can be closed under it.
 */
public final class IncomingMigration {
    /** How long {@link #cancel} waits for the loader to let go of the machine. */
    private static final long CANCEL_WAIT_SECONDS = 10;

    private final Machine machine;
    /** Bound when made (a socket URI), so that a port in use is refused before anything runs. */
    private final MigrationChannel.Listener listener;
    private final boolean autostart;
    /** What info migrate and query-migrate show on this destination. */
    private final MigrationStatus status;
    private final CountDownLatch released = new CountDownLatch(1);
    private volatile boolean cancelled;
    /** The stream being loaded, once the source has come: a cancel closes it (an fd: socket ignores interrupts). */
    private volatile MigrationChannel.In channel;
    private Thread loader;
    /** Whether postcopy-ram is on here (QEMU needs it on both sides); read when the source switches. */
    private volatile java.util.function.BooleanSupplier postcopyAllowed = () -> false;
    /** The postcopy under way, once the source switched (migrate_recover goes to it). */
    private volatile PostcopyIncoming postcopy;
    /** Set once postcopy has started the guest: the loader does not start it again. */
    private volatile boolean guestStarted;

    /**
     * @param autostart run the guest once loaded (false with -S)
     * @param migration the machine's migration, whose status shows the load and whose capabilities and
     *                  parameters (multifd, as QEMU's destination has them set before the source comes) it follows
     */
    public IncomingMigration(Machine machine, String uri, boolean autostart, Migration migration) {
        this.machine = machine;
        this.listener = listen(uri);
        this.autostart = autostart;
        this.status = migration.status();
        this.migration = migration;
        status.incomingListening(listener.socketAddress());
    }

    /** The machine's migration: the destination's capabilities and parameters as set when the source comes. */
    private final Migration migration;

    private MigrationCapabilities capabilities() {
        return migration.capabilities();
    }

    private MigrationParameters parameters() {
        return migration.parameters();
    }

    /** Starts loading; the machine must already be in {@code inmigrate} ({@link Machine#startIncoming}). */
    public synchronized void begin() {
        if (loader == null) {
            loader = Thread.ofPlatform().name("migration-incoming").daemon(true).start(this::load);
        }
    }

    /** Whether this destination takes a switch to postcopy (its postcopy-ram capability, asked when it comes). */
    public void allowPostcopy(java.util.function.BooleanSupplier allowed) {
        postcopyAllowed = allowed;
    }

    /**
     * migrate_recover URI: a postcopy paused by a lost link listens there for the source's migrate -r.
     *
     * @throws IllegalStateException unless postcopy is paused
     */
    public void recover(String uri) {
        PostcopyIncoming p = postcopy;
        if (p == null) {
            throw new IllegalStateException("Migrate recover can only be run when postcopy is paused.");
        }
        p.recover(uri);
    }

    /** Lets the guest go on once loaded (the launcher has everything open); {@link #begin} comes first. */
    public void release() {
        released.countDown();
    }

    private void load() {
        try {
            incoming(ch -> {
                channel = ch;
                if (cancelled) {
                    closeQuietly(ch);
                }
            });
            released.await();
            if (!cancelled && !guestStarted) {
                machine.finishIncoming(autostart);
                // as QEMU: completed once the guest is handed on
                status.incomingCompleted();
                StartupTrace.mark("incoming: finished");
            }
        } catch (InterruptedException e) {
            // only cancel interrupts the loader
        } catch (RuntimeException e) {
            if (!cancelled) {
                String why = e.getMessage() != null ? e.getMessage() : e.toString();
                status.incomingFailed(why);
                System.err.println("jhv: " + why);
                machine.requestExit(1);
            }
        }
    }

    /**
     * Stops the load (its channel is interruptible, so a blocked read ends) and waits until the loader no longer
     * touches the machine. Returns false if it did not stop in time.
     */
    public boolean cancel() {
        Thread t;
        synchronized (this) {
            t = loader;
        }
        cancelled = true;
        try {
            listener.close(); // a source that has not come yet is not waited for
        } catch (java.io.IOException e) {
            // nothing more to release
        }
        if (t == null) {
            return true;
        }
        MigrationChannel.In ch = channel;
        if (ch != null) {
            closeQuietly(ch); // wakes a read blocked on a socket
        }
        t.interrupt();
        try {
            t.join(TimeUnit.SECONDS.toMillis(CANCEL_WAIT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !t.isAlive();
    }

    /** Binds an incoming URI now (a port in use is refused at start, as QEMU does). */
    private static MigrationChannel.Listener listen(String uriText) {
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
    private static void closeQuietly(MigrationChannel.In ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // closing is all a cancel wants
        }
    }

    private void incoming(java.util.function.Consumer<MigrationChannel.In> opened) {
        Machine m = machine;
        MigrationChannel.Listener listener = this.listener;
        java.util.function.BooleanSupplier multifdOn = () -> capabilities().enabled("multifd");
        java.util.function.Supplier<MigrationParameters> parameters = this::parameters;
        if (listener.uri().hasReturnPath()) {
            // while the source has not come yet: the vCPUs are parked in inmigrate, nothing else loads
            try {
                MachineState.warmUp(m, true);
            } catch (RuntimeException e) {
                // only a loss of speed
            }
        }
        dev.jhv.migration.multifd.MultifdReceiver channels = null;
        // tls-creds as set when the source connects; the multifd channels go through the same
        var security = new java.util.concurrent.atomic.AtomicReference<dev.jhv.migration.channel.SocketSecurity>();
        try (MigrationChannel.In ch = secured(listener.accept(listener.uri().hasReturnPath()), parameters.get(),
                security)) {
            // as QEMU's destination: the capability as set when the source connects; else one connection only
            if (!multifdOn.getAsBoolean()) {
                listener.close();
            }
            opened.accept(ch);
            if (multifdOn.getAsBoolean()) {
                channels = new dev.jhv.migration.multifd.MultifdReceiver(() -> listener.acceptNext().secured(security.get()),
                        MachineState.ramBlocks(m), parameters.get().stallTimeoutMs());
                channels.start();
            }
            StartupTrace.mark("incoming: channel open");
            status.incomingActive();
            ReturnPath back = ch.returnPath == null ? null : new ReturnPath(ch.returnPath);
            var counted = new CountingInputStream(ch.stream);
            Thread reporter = back == null ? null : Thread.ofPlatform().name("migration-progress").daemon(true)
                    .start(() -> report(back, counted));
            PostcopyIncoming post = back != null && postcopyAllowed.getAsBoolean()
                    ? new PostcopyIncoming(MachineState.ramBlocks(m), status) : null;
            try {
                var reader = MachineState.reader(m, counted, channels);
                if (post != null) {
                    reader.onPostcopyListen(in -> post.listen(in, back::pageRequest));
                }
                reader.load();
                if (post != null && post.listening()) {
                    stop(reporter);
                    postcopy = post;
                    post.run(link(ch, back, reader.input()), this::startGuest, IncomingMigration::bindRecovery);
                    return;
                }
            } catch (MigrationException | UncheckedIOException e) {
                if (post != null) {
                    post.abandon();
                }
                String why = e instanceof UncheckedIOException u ? Migration.reason(u) : e.getMessage();
                // a command that failed explains a stream that ended (or never began)
                String failed = ch.commandFailure();
                if (failed == null && channels != null) {
                    failed = channels.failure(); // a broken channel made the source give up
                }
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
            if (channels != null) {
                channels.close();
            }
            try {
                listener.close();
            } catch (IOException e) {
                // the socket file is left; nothing else depends on it
            }
        }
    }

    /**
     * The source's connection through TLS when tls-creds is set (the handshake done; {@code security} keeps what
     * the multifd channels go through too); a failure closes it.
     */
    private static MigrationChannel.In secured(MigrationChannel.In raw, MigrationParameters p,
            java.util.concurrent.atomic.AtomicReference<dev.jhv.migration.channel.SocketSecurity> security)
            throws IOException {
        try {
            security.set(dev.jhv.migration.tls.Tls.server(p.tlsCreds()));
        } catch (IllegalArgumentException | IOException e) {
            raw.close();
            throw new IOException(e.getMessage(), e);
        }
        return raw.secured(security.get());
    }

    /** Postcopy runs the guest before the rest of RAM has come: released by the launcher, then as -S says. */
    private void startGuest() {
        try {
            released.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (!cancelled) {
            guestStarted = true;
            machine.finishIncoming(autostart);
        }
    }

    /** A postcopy link over a channel and its return path. */
    private static PostcopyIncoming.Link link(MigrationChannel.In ch, ReturnPath back,
                                              dev.jhv.core.vmstate.VMStateInput in) {
        return new PostcopyIncoming.Link() {
            @Override
            public dev.jhv.core.vmstate.VMStateInput stream() {
                return in;
            }

            @Override
            public void request(int block, long offset, long length) throws IOException {
                back.pageRequest(block, offset, length);
            }

            @Override
            public void running() throws IOException {
                back.running();
            }

            @Override
            public void received(long[][] bitmaps) throws IOException {
                back.received(bitmaps);
            }

            @Override
            public void acknowledge() throws IOException {
                back.answer(null);
            }

            @Override
            public void close() {
                closeQuietly(ch);
            }
        };
    }

    /** migrate_recover's URI, bound at once; the source's migrate -r connects there. */
    private static PostcopyIncoming.Bound bindRecovery(String uri) throws IOException {
        MigrationChannel.Listener l = MigrationChannel.listen(MigrationUri.parse(uri));
        return () -> {
            try {
                MigrationChannel.In ch = l.accept();
                if (ch.returnPath == null) {
                    closeQuietly(ch);
                    throw new IOException("a recovery needs a socket with a return path");
                }
                return link(ch, new ReturnPath(ch.returnPath),
                        new dev.jhv.core.vmstate.VMStateInput(ch.stream));
            } finally {
                l.close();
            }
        };
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
                // the bound of the drain, not a synchronisation: a source that heard the refusal hangs up at once,
                // and one starved by a loaded machine must still read the refusal before a reset can drop it
                Thread.sleep(30_000);
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
