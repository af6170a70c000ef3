package dev.jhv.migration.multifd;

import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.migration.channel.MigrationChannel;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.MultifdPages;
import dev.jhv.migration.stream.RamBlock;
import dev.jhv.migration.stream.RamSectionReader;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The destination's multifd channels: accepted from the migration's listener after the main channel, each read by
 * its own thread straight into guest RAM. A channel stops at each sync point until the main stream reaches it
 * ({@link #sync}), so that what one pass wrote is in place before the next pass's pages, on any channel, land.
 */
public final class MultifdReceiver implements MultifdPages.Source, AutoCloseable {
    /** Accepts the next connection of this migration (the listener stays open for them). */
    @FunctionalInterface
    public interface Acceptor {
        MigrationChannel.In accept() throws IOException;
    }

    private final Acceptor acceptor;
    private final List<RamBlock> blocks;
    private final long connectTimeoutMs;
    private final Object lock = new Object();
    private final List<Channel> channels = new ArrayList<>();
    /** The channel count the handshakes announced (0 before the first). */
    private int count;
    private long released;
    private volatile String failure;
    private volatile boolean closed;
    private Thread acceptThread;

    /**
     * @param connectTimeoutMs how long {@link #expect} waits for the channels the stream announces
     */
    public MultifdReceiver(Acceptor acceptor, List<RamBlock> blocks, long connectTimeoutMs) {
        this.acceptor = acceptor;
        this.blocks = List.copyOf(blocks);
        this.connectTimeoutMs = connectTimeoutMs;
    }

    /** Starts accepting channels (right after the main channel: the source connects them next). */
    public void start() {
        acceptThread = Thread.ofPlatform().name("multifd-accept").daemon(true).start(this::acceptAll);
    }

    private void acceptAll() {
        try {
            while (!closed) {
                synchronized (lock) {
                    if (count > 0 && channels.size() >= count) {
                        return;
                    }
                }
                MigrationChannel.In in = acceptor.accept();
                var c = new Channel(in);
                synchronized (lock) {
                    channels.add(c);
                }
                c.thread = Thread.ofPlatform().name("multifd-recv").daemon(true).start(c::run);
            }
        } catch (IOException e) {
            if (!closed) {
                fail("multifd: accepting a channel failed: " + e.getMessage());
            }
        }
    }

    @Override
    public void expect(int n) {
        long deadline = System.nanoTime() + connectTimeoutMs * 1_000_000;
        synchronized (lock) {
            while (true) {
                checkFailure();
                if (count != 0 && count != n) {
                    throw new MigrationException("multifd: the channels say there are " + count
                            + " of them, the main stream says " + n);
                }
                long ready = channels.stream().filter(c -> c.hello != null).count();
                if (count == n && ready == n) {
                    return;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new MigrationException("multifd: only " + ready + " of " + n + " channels connected within "
                            + connectTimeoutMs / 1000.0 + " s");
                }
                await(Math.min(left / 1_000_000 + 1, 100));
            }
        }
    }

    @Override
    public void sync(long n) {
        synchronized (lock) {
            while (true) {
                checkFailure();
                boolean all = !channels.isEmpty();
                for (Channel c : channels) {
                    all &= c.reached >= n;
                }
                if (all) {
                    released = n;
                    lock.notifyAll();
                    return;
                }
                await(100);
            }
        }
    }

    /** Waits on the lock (held) for a channel's news; the bound re-checks a cancel. */
    private void await(long ms) {
        try {
            lock.wait(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException("cancelled");
        }
        if (closed) {
            throw new MigrationException("cancelled");
        }
    }

    /** Why a channel failed, or null: the cause when the main stream breaks too. */
    public String failure() {
        return failure;
    }

    private void checkFailure() {
        String f = failure;
        if (f != null) {
            throw new MigrationException(f);
        }
    }

    private void fail(String why) {
        synchronized (lock) {
            if (failure == null) {
                failure = why;
            }
            lock.notifyAll();
        }
    }

    /** Closes every channel and waits for their threads. */
    @Override
    public void close() {
        closed = true;
        synchronized (lock) {
            lock.notifyAll();
        }
        List<Channel> all;
        synchronized (lock) {
            all = List.copyOf(channels);
        }
        for (Channel c : all) {
            try {
                c.in.close();
            } catch (IOException e) {
                // closing is all we wanted
            }
        }
        for (Channel c : all) {
            try {
                if (c.thread != null) {
                    c.thread.join(5000);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (acceptThread != null) {
            acceptThread.interrupt();
        }
    }

    /** One accepted connection and its receiver thread. */
    private final class Channel {
        final MigrationChannel.In in;
        volatile MultifdFraming.Hello hello;
        volatile long reached;
        Thread thread;

        Channel(MigrationChannel.In in) {
            this.in = in;
        }

        void run() {
            String name = "multifd channel";
            try {
                var input = new VMStateInput(in.stream);
                var reader = new RamSectionReader(blocks);
                var h = MultifdFraming.readHello(input, reader);
                name = "multifd channel " + h.index();
                Thread.currentThread().setName("multifd-recv-" + h.index());
                synchronized (lock) {
                    if (count == 0) {
                        count = h.count();
                    } else if (count != h.count()) {
                        throw new MigrationException("it says there are " + h.count() + " channels, another said "
                                + count);
                    }
                    for (Channel c : channels) {
                        if (c.hello != null && c.hello.index() == h.index()) {
                            throw new MigrationException("a second channel " + h.index());
                        }
                    }
                    hello = h;
                    lock.notifyAll();
                }
                while (true) {
                    int type = input.u8("multifd packet");
                    switch (type) {
                        case MultifdFraming.DATA -> reader.readBody(input);
                        case MultifdFraming.SYNC -> {
                            long n = input.u64("multifd sync");
                            synchronized (lock) {
                                reached = n;
                                lock.notifyAll();
                                while (released < n && !closed) {
                                    lock.wait(100);
                                }
                            }
                            // the other channels wrote pages before this sync point: what this one read of their
                            // residency may be stale
                            reader.forgetResidency();
                        }
                        case MultifdFraming.END -> {
                            return;
                        }
                        default -> throw new MigrationException("unknown packet type " + type + " at offset "
                                + (input.offset() - 1));
                    }
                }
            } catch (InterruptedException e) {
                // closed
            } catch (RuntimeException e) {
                if (!closed) {
                    fail(name + ": " + (e.getMessage() != null ? e.getMessage() : e.toString()));
                }
            }
        }
    }
}
