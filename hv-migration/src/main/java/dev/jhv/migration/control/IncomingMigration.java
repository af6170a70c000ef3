package dev.jhv.migration.control;

import dev.jhv.core.machine.Machine;
import dev.jhv.core.trace.StartupTrace;

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
    private final String uri;
    /** Bound when made (a socket URI), so that a port in use is refused before anything runs. */
    private final dev.jhv.migration.channel.MigrationChannel.Listener listener;
    private final boolean autostart;
    private final CountDownLatch released = new CountDownLatch(1);
    private volatile boolean cancelled;
    private Thread loader;

    /** @param autostart run the guest once loaded (false with -S) */
    public IncomingMigration(Machine machine, String uri, boolean autostart) {
        this.machine = machine;
        this.uri = uri;
        this.listener = Migration.listen(uri);
        this.autostart = autostart;
    }

    /** Starts loading; the machine must already be in {@code inmigrate} ({@link Machine#startIncoming}). */
    public synchronized void begin() {
        if (loader == null) {
            loader = Thread.ofPlatform().name("migration-incoming").daemon(true).start(this::load);
        }
    }

    /** Lets the guest go on once loaded (the launcher has everything open); {@link #begin} comes first. */
    public void release() {
        released.countDown();
    }

    private void load() {
        try {
            Migration.incoming(machine, listener);
            released.await();
            if (!cancelled) {
                machine.finishIncoming(autostart);
                StartupTrace.mark("incoming: finished");
            }
        } catch (InterruptedException e) {
            // only cancel interrupts the loader
        } catch (RuntimeException e) {
            if (!cancelled) {
                System.err.println("jhv: " + e.getMessage());
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
        t.interrupt();
        try {
            t.join(TimeUnit.SECONDS.toMillis(CANCEL_WAIT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !t.isAlive();
    }
}
