package dev.jhv.migration.multifd;

import dev.jhv.core.vmstate.VMStateOutput;
import dev.jhv.migration.channel.MigrationChannel;
import dev.jhv.migration.channel.RateLimitedOutputStream;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.MultifdPages;
import dev.jhv.migration.stream.RamBlock;
import dev.jhv.migration.stream.RamSectionWriter;
import dev.jhv.migration.stream.RamStats;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The source's multifd channels: pages queued by the migration thread go in packets to the channels in turn, each
 * written by its own thread (which reads the page's bytes then, after the dirty log was re-armed for it); a sync
 * sends a sync point down every channel and waits until all have written it. A channel that breaks fails the
 * migration with its reason ("multifd channel 2: Broken pipe").
 */
public final class MultifdSender implements MultifdPages.Sink, AutoCloseable {
    /** Opens channel {@code index} to the migration's URI (a socket, with TLS when the migration uses it). */
    @FunctionalInterface
    public interface Opener {
        MigrationChannel.Out open(int index) throws IOException;
    }

    /** Packets queued per channel before the migration thread waits (bounded memory, back pressure). */
    private static final int QUEUE = 4;
    private static final Object END = new Object();
    /** Pages one page writer serves, as a main-stream RAM body does (RamStateEntry's chunk). */
    private static final long RENEW_PAGES = 8192;

    private record Packet(RamBlock[] blocks, long[] offsets, int count) { }

    private record Sync(long n) { }

    private final List<Channel> channels = new ArrayList<>();
    private final Object lock = new Object();
    private volatile String failure;
    private RamBlock[] blocks = new RamBlock[MultifdFraming.PACKET_PAGES];
    private long[] offsets = new long[MultifdFraming.PACKET_PAGES];
    private int count;
    private int next;
    private long syncs;

    private MultifdSender() { }

    /**
     * Opens {@code n} channels one after the other (the destination accepts them in turn) and starts their threads.
     *
     * @param stats where the pages written are counted (the RAM entry's save statistics)
     * @throws IOException naming the channel that could not be opened; those opened are closed again
     */
    public static MultifdSender open(int n, Opener opener, List<RamBlock> ramBlocks, RamStats stats,
                                     long bytesPerSecond) throws IOException {
        var s = new MultifdSender();
        try {
            for (int i = 0; i < n; i++) {
                MigrationChannel.Out ch;
                try {
                    ch = opener.open(i);
                } catch (IOException e) {
                    throw new IOException("multifd channel " + i + ": " + e.getMessage(), e);
                }
                var c = s.new Channel(i, ch, new RateLimitedOutputStream(ch.stream, share(bytesPerSecond, n)), stats);
                s.channels.add(c);
                MultifdFraming.writeHello(c.out, i, n, ramBlocks);
                c.out.flush();
            }
        } catch (IOException | RuntimeException e) {
            s.abort();
            throw e;
        }
        for (Channel c : s.channels) {
            c.thread = Thread.ofPlatform().name("multifd-send-" + c.index).daemon(true).start(c::run);
        }
        return s;
    }

    /** Each channel's part of the bandwidth cap (0: none). */
    private static long share(long bytesPerSecond, int n) {
        return bytesPerSecond <= 0 ? 0 : Math.max(1, bytesPerSecond / n);
    }

    @Override
    public int channels() {
        return channels.size();
    }

    /** Changes the cap over all channels together (max-bandwidth; 0 for none). */
    public void setRate(long bytesPerSecond) {
        for (Channel c : channels) {
            c.wire.setRate(share(bytesPerSecond, channels.size()));
        }
    }

    /** Bytes written on all channels (QEMU's multifd bytes). */
    public long bytes() {
        long sum = 0;
        for (Channel c : channels) {
            sum += c.wire.written();
        }
        return sum;
    }

    /** When any channel last made progress. */
    public long lastProgressNanos() {
        long last = Long.MIN_VALUE;
        for (Channel c : channels) {
            last = Math.max(last, c.wire.lastProgressNanos());
        }
        return last;
    }

    /** Why a channel broke, or null. */
    public String failure() {
        return failure;
    }

    @Override
    public void page(RamBlock block, long offset) {
        blocks[count] = block;
        offsets[count] = offset;
        if (++count == MultifdFraming.PACKET_PAGES) {
            flushPacket();
        }
    }

    private void flushPacket() {
        if (count == 0) {
            return;
        }
        var p = new Packet(blocks, offsets, count);
        blocks = new RamBlock[MultifdFraming.PACKET_PAGES];
        offsets = new long[MultifdFraming.PACKET_PAGES];
        count = 0;
        // the next channel with room, else wait for the next in turn
        for (int i = 0; i < channels.size(); i++) {
            Channel c = channels.get((next + i) % channels.size());
            if (c.queue.offer(p)) {
                next = (c.index + 1) % channels.size();
                return;
            }
        }
        Channel c = channels.get(next);
        next = (next + 1) % channels.size();
        put(c, p);
    }

    private void put(Channel c, Object item) {
        try {
            while (!c.queue.offer(item, 100, TimeUnit.MILLISECONDS)) {
                checkFailure();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException("cancelled");
        }
        checkFailure();
    }

    private void checkFailure() {
        String f = failure;
        if (f != null) {
            throw new MigrationException(f);
        }
    }

    @Override
    public long sync() {
        flushPacket();
        long n = ++syncs;
        for (Channel c : channels) {
            put(c, new Sync(n));
        }
        synchronized (lock) {
            while (true) {
                checkFailure();
                boolean all = true;
                for (Channel c : channels) {
                    all &= c.synced >= n;
                }
                if (all) {
                    return n;
                }
                try {
                    lock.wait(100); // woken by a channel's sync or failure; the bound re-checks a cancel
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new MigrationException("cancelled");
                }
            }
        }
    }

    /** Breaks every channel (a cancel, a failure elsewhere): blocked writes fail at once. */
    public void abort() {
        for (Channel c : channels) {
            c.ch.abort();
        }
    }

    /** Ends every channel (after the last sync) and closes it; a channel that cannot end says why. */
    @Override
    public void close() throws IOException {
        for (Channel c : channels) {
            if (failure == null) {
                put(c, END);
            }
        }
        for (Channel c : channels) {
            try {
                if (c.thread != null) {
                    c.thread.join(10_000);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            c.ch.close();
        }
        checkFailure();
    }

    /** One connection and its sender thread. */
    private final class Channel {
        final int index;
        final MigrationChannel.Out ch;
        final RateLimitedOutputStream wire;
        final VMStateOutput out;
        final RamStats stats;
        final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(QUEUE);
        volatile long synced;
        Thread thread;

        Channel(int index, MigrationChannel.Out ch, RateLimitedOutputStream wire, RamStats stats) {
            this.index = index;
            this.ch = ch;
            this.wire = wire;
            this.out = new VMStateOutput(wire);
            this.stats = stats;
        }

        /**
         * The page writer, renewed as often as the main stream renews its own (per RAM section body of
         * RamStateEntry's chunk of pages): a fresh one per packet would ask the kernel which pages were never written
         * (mincore over 64 MiB, /proc/meminfo twice) for every 128 pages, which made a mostly empty guest's
         * migration several times slower.
         */
        private RamSectionWriter writer() {
            if (writer == null || writerPages >= RENEW_PAGES) {
                writer = new RamSectionWriter(out, stats);
                writerPages = 0;
            }
            writerPages += MultifdFraming.PACKET_PAGES;
            return writer;
        }

        private RamSectionWriter writer;
        private long writerPages;

        void run() {
            try {
                while (true) {
                    Object item = queue.take();
                    if (item == END) {
                        out.u8(MultifdFraming.END);
                        out.flush();
                        return;
                    }
                    if (item instanceof Sync(long n)) {
                        writer = null; // the guest ran on: what the writer learnt of never-written pages is stale
                        out.u8(MultifdFraming.SYNC);
                        out.u64(n);
                        out.flush();
                        synchronized (lock) {
                            synced = n;
                            lock.notifyAll();
                        }
                    } else if (item instanceof Packet p) {
                        out.u8(MultifdFraming.DATA);
                        var w = writer();
                        for (int i = 0; i < p.count(); i++) {
                            w.writePage(p.blocks()[i], p.offsets()[i]);
                        }
                        w.writeEos();
                    }
                }
            } catch (InterruptedException e) {
                fail("interrupted");
            } catch (RuntimeException e) {
                String why = e.getMessage() != null ? e.getMessage() : e.toString();
                fail(why);
            }
        }

        private void fail(String why) {
            synchronized (lock) {
                if (failure == null) {
                    failure = "multifd channel " + index + ": " + why;
                }
                lock.notifyAll();
            }
        }
    }
}
