package dev.jhv.migration.postcopy;

import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.RunState;
import dev.jhv.core.memory.DirtyLog;
import dev.jhv.core.vmstate.VMStateOutput;
import dev.jhv.migration.channel.MigrationChannel;
import dev.jhv.migration.channel.MigrationUri;
import dev.jhv.migration.channel.RateLimitedOutputStream;
import dev.jhv.migration.control.MigrationParameters;
import dev.jhv.migration.control.MigrationStatus;
import dev.jhv.migration.stream.MigrationStreamWriter;
import dev.jhv.migration.stream.RamStateEntry;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The source's switch from precopy to postcopy and what follows, for one outgoing migration. With the guest
 * stopped: the listen command (the pages the destination lacks), the device state, then, once the destination says
 * its guest runs, every remaining page (requests first, see {@link PostcopySource}). From that word on the source
 * never resumes: a lost link pauses in postcopy-paused until {@link #resume} gives a new URI, over which the
 * destination says which pages it has and the rest is sent again. A refusal before that word resumes the source.
 */
public final class PostcopySwitch {
    /** What the switch needs of the live migration that runs it. */
    public record Source(Machine machine, MigrationStatus status, Supplier<MigrationParameters> parameters,
                         MigrationChannel.Out channel, RateLimitedOutputStream out, MigrationStreamWriter writer,
                         RamStateEntry ram, DirtyLog dirty, Runnable checkCancel,
                         Consumer<MigrationChannel.Out> listen, Answer answer, Supplier<CompletableFuture<String>> answerFuture) { }

    /** Waits for the destination's final answer on the current link. */
    @FunctionalInterface
    public interface Answer {
        void await() throws IOException;
    }

    private static final String PAUSED = "postcopy paused: ";

    private volatile boolean requested;
    private volatile PostcopySource source;
    private final CompletableFuture<Void> running = new CompletableFuture<>();
    private volatile CompletableFuture<long[][]> received = new CompletableFuture<>();
    private final LinkedBlockingQueue<MigrationUri> resumeTo = new LinkedBlockingQueue<>();

    public void request() {
        requested = true;
    }

    public boolean requested() {
        return requested;
    }

    /** True once the destination has said its guest runs: the source must not resume any more. */
    public boolean destinationRuns() {
        return running.isDone();
    }

    public void destinationRunning() {
        running.complete(null);
    }

    public void pageRequest(int block, long offset, long length) {
        PostcopySource s = source;
        if (s != null) {
            s.request(block, offset, length);
        }
    }

    public void destinationHas(long[][] bitmaps) {
        received.complete(bitmaps);
    }

    /** migrate -r: where a paused postcopy goes on. */
    public void resume(MigrationUri to) {
        resumeTo.add(to);
    }

    /** Runs postcopy to its end; the guest is stopped and the dirty log synced for the last time. */
    public void run(Source s) throws IOException {
        long p0 = System.nanoTime();
        long w0 = s.out().written();
        MigrationStatus status = s.status();
        PostcopySource src = new PostcopySource(s.ram().blocks(), s.ram().pendingBitmaps());
        source = src;
        s.dirty().stop(); // the guest is stopped here for good
        s.out().setRate(0);
        s.writer().postcopyListen(src::writeListen);
        s.writer().completeDevices();
        long p1 = System.nanoTime();
        long downtimeBytes = s.out().written() - w0;
        // pages go at once, not after the destination's word: its device state may touch guest RAM while it
        // loads, and such a fault must not wait for that word to come back first
        var ranAt = running.thenApply(v -> System.nanoTime());
        running.thenRun(() -> status.postcopyActive(() -> new MigrationStatus.Postcopy(src.requests(), src.bytes(),
                0, 0, 0, 0, 0)));
        MigrationChannel.Out ch = s.channel();
        RateLimitedOutputStream out = s.out();
        long base = 0;
        while (true) {
            try {
                out.setRate(s.parameters().get().maxPostcopyBandwidth());
                RateLimitedOutputStream wire = out;
                long sent = base;
                VMStateOutput v = new VMStateOutput(new BufferedOutputStream(out, 1 << 16));
                src.push(v, () -> {
                    s.checkCancel().run();
                    status.progress(sent + wire.written(), src.remainingPages() * PageRecords.PAGE, 0, 0, 0);
                });
                s.answer().await();
                break;
            } catch (UncheckedIOException | IOException e) {
                String why = e.getMessage() != null ? e.getMessage() : e.toString();
                if (!running.isDone()) {
                    // the guest never ran there: the source resumes (a refusal says why)
                    awaitRunning(s.answerFuture().get());
                }
                if (why.startsWith("the destination refused")) {
                    throw e instanceof IOException io ? io : ((UncheckedIOException) e).getCause();
                }
                base += out.written();
                ch.abort();
                System.err.println("jhv: postcopy paused: " + why);
                Link link = reconnect(s, status);
                ch = link.channel();
                out = link.out();
                src.resume(link.received());
                status.postcopyResumed();
            }
        }
        try {
            ch.close();
        } catch (IOException e) {
            // the destination has acknowledged every page: a connection that fails to close changes nothing
        }
        long transferred = base + out.written();
        status.progress(transferred, 0, s.ram().saveStats().zeroPages(), s.ram().saveStats().normalPages(), 0);
        s.machine().operations().migrationEnding();
        s.machine().leaveSaveState(RunState.POSTMIGRATE);
        // the downtime: from the stop to the destination's word that the guest runs there
        long p2 = ranAt.getNow(p1);
        status.completed(transferred, downtimeBytes, new MigrationStatus.Downtime(0, 0, 0, (p1 - p0) / 1_000_000,
                (p2 - p1) / 1_000_000));
    }

    /** Waits for the destination's word that its guest runs; a refusal or a lost link before it throws. */
    private void awaitRunning(CompletableFuture<String> answer) throws IOException {
        try {
            CompletableFuture.anyOf(running, answer).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for the destination to run the guest");
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage());
        }
        if (!running.isDone()) {
            String a = answer.getNow("");
            throw new IOException(a.isEmpty() ? "the destination acknowledged without running the guest" : a);
        }
    }

    private record Link(MigrationChannel.Out channel, RateLimitedOutputStream out, long[][] received) { }

    /** postcopy-paused until migrate -r gives a URI that connects and answers with what the destination has. */
    private Link reconnect(Source s, MigrationStatus status) {
        while (true) {
            status.postcopyPaused();
            MigrationUri to;
            try {
                to = resumeTo.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(PAUSED + "interrupted");
            }
            status.postcopyRecover();
            received = new CompletableFuture<>();
            MigrationChannel.Out ch = null;
            try {
                ch = MigrationChannel.openOutgoing(to, new MigrationChannel.Connecting());
                if (ch.returnPath == null) {
                    throw new IOException("a recovery needs a socket with a return path");
                }
                s.listen().accept(ch);
                RateLimitedOutputStream out = new RateLimitedOutputStream(ch.stream, 0);
                VMStateOutput v = new VMStateOutput(out);
                v.u32(PageRecords.RESUME_MAGIC);
                v.flush();
                long[][] has = received.get(s.parameters().get().stallTimeoutMs(),
                        java.util.concurrent.TimeUnit.MILLISECONDS);
                return new Link(ch, out, has);
            } catch (IOException | UncheckedIOException | ExecutionException
                     | java.util.concurrent.TimeoutException e) {
                System.err.println("jhv: postcopy recovery to " + to + " failed: " + e.getMessage());
                if (ch != null) {
                    ch.abort();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(PAUSED + "interrupted");
            }
        }
    }
}
