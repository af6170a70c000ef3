package dev.jhv.migration.postcopy;

import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.migration.control.MigrationStatus;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.RamBlock;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The destination's side of a postcopy migration around {@link PostcopyDestination}: once the stream's device state
 * is loaded, it tells the source the guest runs, starts it, and places pages until the source's end record. A
 * lost link pauses (postcopy-paused: the guest runs on where it has its pages, a vCPU that touches a missing one
 * waits) until migrate_recover gives a URI; the source that connects there is told which pages are here and sends
 * the rest.
 */
public final class PostcopyIncoming {
    /** One connection from the source: its stream and its return path. */
    public interface Link extends PageRequester {
        VMStateInput stream();

        /** Tells the source the guest runs here: it must not resume any more. */
        void running() throws IOException;

        /** After a recovery: the pages here (bit i of word i/64 = page i, per block). */
        void received(long[][] bitmaps) throws IOException;

        /** Every page placed: the migration has completed. */
        void acknowledge() throws IOException;

        void close();
    }

    /** Binds a recovery URI (at once, so that the source's migrate -r finds it listening). */
    @FunctionalInterface
    public interface Acceptor {
        Bound bind(String uri) throws IOException;
    }

    /** A bound recovery URI: waits for the source there. */
    @FunctionalInterface
    public interface Bound {
        Link accept() throws IOException;
    }

    private final List<RamBlock> blocks;
    private final MigrationStatus status;
    private volatile PostcopyDestination destination;
    private final LinkedBlockingQueue<Bound> recoverTo = new LinkedBlockingQueue<>();
    private volatile Acceptor acceptor;

    public PostcopyIncoming(List<RamBlock> blocks, MigrationStatus status) {
        this.blocks = List.copyOf(blocks);
        this.status = status;
    }

    /** The stream's listen command (the reader's hook): RAM goes onto the userfaultfd. */
    public void listen(VMStateInput in, PageRequester requester) {
        PostcopyDestination d = new PostcopyDestination(blocks, requester);
        destination = d;
        d.listen(in);
    }

    /** Whether the stream switched to postcopy. */
    public boolean listening() {
        return destination != null;
    }

    /** Ends postcopy early (a load that failed before the guest ran): RAM leaves the userfaultfd. */
    public void abandon() {
        PostcopyDestination d = destination;
        if (d != null) {
            d.close();
        }
    }

    /**
     * Runs the guest on {@code first}'s stream and places every page; returns once the migration has completed.
     *
     * @param startGuest runs the guest (the launcher's release and the machine's finishIncoming)
     */
    public void run(Link first, Runnable startGuest, Acceptor acceptor) {
        this.acceptor = acceptor;
        PostcopyDestination d = destination;
        status.postcopyActive(() -> {
            var s = d.stats();
            return new MigrationStatus.Postcopy(s.pagesRequested(), 0, s.pagesRequested(), s.latencyAvgMicros(),
                    s.latencyMaxMicros(), s.blocktimeMs(), s.pagesPlaced());
        });
        try {
            first.running();
        } catch (IOException e) {
            // the link is gone already: the loop below pauses when it reads
        }
        startGuest.run();
        Link link = first;
        VMStateInput in = first.stream();
        while (true) {
            try {
                d.receive(in);
                break;
            } catch (RuntimeException e) {
                d.requester(null);
                link.close();
                System.err.println("jhv: postcopy paused: " + e.getMessage());
                link = recover();
                d.requester(link);
                in = link.stream();
                d.askAgain();
            }
        }
        d.close();
        try {
            link.acknowledge();
        } catch (IOException e) {
            // every page is here: the source learns it from the closed connection at worst
        }
        link.close();
        status.incomingCompleted();
    }

    /** postcopy-paused until migrate_recover gives a URI a source connects to and resumes over. */
    private Link recover() {
        while (true) {
            status.postcopyPaused();
            Bound bound;
            try {
                bound = recoverTo.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MigrationException("postcopy paused: interrupted");
            }
            status.postcopyRecover();
            Link link = null;
            try {
                link = bound.accept();
                link.received(destination.receivedBitmaps());
                long magic = link.stream().u32("postcopy resume");
                if (magic != PageRecords.RESUME_MAGIC) {
                    throw new IOException(String.format("the source sent 0x%08x, not a postcopy resume", magic));
                }
                status.postcopyResumed();
                return link;
            } catch (IOException | RuntimeException e) {
                System.err.println("jhv: postcopy recovery failed: " + e.getMessage());
                if (link != null) {
                    link.close();
                }
            }
        }
    }

    /** migrate_recover URI: only while postcopy is paused, as QEMU. */
    public void recover(String uri) {
        if (status.state() != MigrationStatus.State.POSTCOPY_PAUSED) {
            throw new IllegalStateException("Migrate recover can only be run when postcopy is paused.");
        }
        Acceptor a = acceptor;
        try {
            recoverTo.add(a.bind(uri));
        } catch (IOException e) {
            throw new IllegalArgumentException("migrate_recover " + uri + ": " + e.getMessage(), e);
        }
    }
}
