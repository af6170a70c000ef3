package dev.jhv.migration.postcopy;

import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.UserFaultFd;
import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.RamBlock;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The destination's side of postcopy. On the listen command it registers guest RAM with a userfaultfd and frees the
 * pages the source says it lacks, so that touching one faults; a fault thread then asks the source for each page a
 * vCPU or device waits on (a page the destination already has but never backed is placed as zeros). The loader
 * places the pages that arrive with UFFDIO_COPY, which wakes whoever waits. Writing guest RAM directly would fault
 * the loader itself, so every page after the listen command goes through the userfaultfd.
 */
public final class PostcopyDestination implements AutoCloseable {
    private static final long PAGE = PageRecords.PAGE;

    private final List<RamBlock> blocks;
    private final long[] pages;
    private final PageRecords records;
    private volatile PageRequester requester;
    private UserFaultFd uffd;
    /** Per block, the pages this destination has (bit i of word i/64 = page i). */
    private AtomicLongArray[] received;
    /** Pages asked for and not yet placed: key block << 48 | page, value the time of the fault. */
    private final ConcurrentHashMap<Long, Long> waiting = new ConcurrentHashMap<>();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment staging = arena.allocate(PAGE, PAGE);
    private Thread faultThread;
    private volatile boolean closing;
    private final AtomicLong faults = new AtomicLong();
    private final AtomicLong latencyTotalNanos = new AtomicLong();
    private final AtomicLong latencyMaxNanos = new AtomicLong();
    private final AtomicLong latencySamples = new AtomicLong();
    private final AtomicLong placed = new AtomicLong();
    private volatile long missing;

    /** What the destination's info migrate shows of postcopy. */
    public record Stats(long pagesRequested, long pagesPlaced, long latencySamples, long latencyAvgMicros,
                        long latencyMaxMicros, long blocktimeMs) { }

    public PostcopyDestination(List<RamBlock> blocks, PageRequester requester) {
        this.blocks = List.copyOf(blocks);
        this.requester = requester;
        this.pages = new long[blocks.size()];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = blocks.get(i).size() / PAGE;
        }
        this.records = new PageRecords(this.blocks);
    }

    /**
     * The listen command: reads which pages the source still has to send, registers RAM with the userfaultfd
     * (first, so that nothing can back a page between its freeing and the registration) and frees those pages.
     */
    public void listen(VMStateInput in) {
        long[][] lacking = PageRuns.read(in, pages);
        received = new AtomicLongArray[blocks.size()];
        for (int b = 0; b < blocks.size(); b++) {
            long[] have = new long[lacking[b].length];
            for (int w = 0; w < have.length; w++) {
                have[w] = ~lacking[b][w];
            }
            received[b] = new AtomicLongArray(have);
        }
        missing = PageRuns.count(lacking);
        try {
            uffd = UserFaultFd.open();
            for (RamBlock b : blocks) {
                uffd.registerMissing(b.segment());
            }
        } catch (RuntimeException e) {
            throw new MigrationException("postcopy: guest RAM cannot be put on a userfaultfd: " + e.getMessage(), e);
        }
        dev.jhv.core.trace.StartupTrace.mark("postcopy: RAM on the userfaultfd");
        for (int b = 0; b < blocks.size(); b++) {
            MemorySegment seg = blocks.get(b).segment();
            for (long p = PageRuns.next(lacking[b], 0, pages[b]); p >= 0; ) {
                long e = PageRuns.end(lacking[b], p, pages[b]);
                Libc.madvise(seg.asSlice(p * PAGE, (e - p) * PAGE), Libc.MADV_DONTNEED);
                p = PageRuns.next(lacking[b], e, pages[b]);
            }
        }
        dev.jhv.core.trace.StartupTrace.mark("postcopy: " + missing + " missing pages freed");
        faultThread = Thread.ofPlatform().name("postcopy-faults").daemon(true).start(this::serveFaults);
    }

    /** Pages the source has yet to send. */
    public long missingPages() {
        return missing;
    }

    /**
     * Places the pages that arrive until the end record; a damaged record or a broken link throws (the pages
     * placed so far stay, {@link #receivedBitmaps} says which).
     */
    public void receive(VMStateInput in) {
        while (true) {
            PageRecords.Record r = records.read(in, staging);
            if (r.end()) {
                if (missing != 0) {
                    throw new MigrationException("postcopy: the source ended with " + missing + " pages unsent");
                }
                return;
            }
            place(r);
        }
    }

    private void place(PageRecords.Record r) {
        long addr = blocks.get(r.block()).segment().address() + r.offset();
        int rc = r.zero() ? uffd.zeroPage(addr, PAGE) : uffd.copy(addr, staging, PAGE);
        if (rc < 0 && rc != -dev.jhv.core.sys.Errno.EEXIST) {
            throw new MigrationException("postcopy: placing page 0x" + Long.toHexString(r.offset()) + " of '"
                    + blocks.get(r.block()).name() + "' failed: " + dev.jhv.core.sys.Errno.name(-rc));
        }
        long page = r.offset() / PAGE;
        long bit = 1L << page;
        long before = received[r.block()].getAndAccumulate((int) (page >>> 6), bit, (a, b) -> a | b);
        if ((before & bit) == 0) {
            missing--;
            placed.incrementAndGet();
        }
        Long since = waiting.remove(key(r.block(), page));
        if (since != null) {
            long dt = System.nanoTime() - since;
            latencyTotalNanos.addAndGet(dt);
            latencySamples.incrementAndGet();
            latencyMaxNanos.accumulateAndGet(dt, Math::max);
        }
    }

    private static long key(int block, long page) {
        return ((long) block << 48) | page;
    }

    private boolean has(int block, long page) {
        return (received[block].get((int) (page >>> 6)) & (1L << page)) != 0;
    }

    private void serveFaults() {
        UserFaultFd.PageFault[] batch = new UserFaultFd.PageFault[64];
        while (!closing) {
            int n;
            try {
                n = uffd.awaitFaults(batch, 1000);
            } catch (RuntimeException e) {
                if (closing) {
                    return;
                }
                throw e;
            }
            for (int i = 0; i < n; i++) {
                fault(batch[i].page());
            }
        }
    }

    private void fault(long addr) {
        for (int b = 0; b < blocks.size(); b++) {
            MemorySegment seg = blocks.get(b).segment();
            if (addr >= seg.address() && addr < seg.address() + seg.byteSize()) {
                long page = (addr - seg.address()) / PAGE;
                if (has(b, page)) {
                    uffd.zeroPage(addr, PAGE); // had as zeros, never backed; EEXIST: placed meanwhile, woken
                    return;
                }
                if (waiting.putIfAbsent(key(b, page), System.nanoTime()) == null) {
                    faults.incrementAndGet();
                    ask(b, page);
                }
                return;
            }
        }
    }

    private void ask(int block, long page) {
        PageRequester r = requester;
        if (r == null) {
            return; // the link is down: asked again on recovery
        }
        try {
            r.request(block, page * PAGE, PAGE);
        } catch (IOException e) {
            // the link is down: recovery asks again for every page still waited on
        }
    }

    /** While the link is down, faults wait; {@code r} null: none can be asked for. */
    public void requester(PageRequester r) {
        requester = r;
    }

    /** After a recovery: asks again for every page a fault still waits on. */
    public void askAgain() {
        for (Long k : waiting.keySet()) {
            ask((int) (k >>> 48), k & ((1L << 48) - 1));
        }
    }

    /** Per block, the pages this destination has (for a recovery's answer to the source). */
    public long[][] receivedBitmaps() {
        long[][] out = new long[received.length][];
        for (int b = 0; b < received.length; b++) {
            out[b] = new long[received[b].length()];
            for (int w = 0; w < out[b].length; w++) {
                out[b][w] = received[b].get(w);
            }
        }
        return out;
    }

    public Stats stats() {
        long samples = latencySamples.get();
        return new Stats(faults.get(), placed.get(), samples,
                samples == 0 ? 0 : latencyTotalNanos.get() / samples / 1000, latencyMaxNanos.get() / 1000,
                latencyTotalNanos.get() / 1_000_000);
    }

    /** Every page is here: RAM leaves the userfaultfd (faults no longer possible) and the fault thread ends. */
    @Override
    public void close() {
        closing = true;
        if (uffd != null) {
            uffd.interrupt();
        }
        if (faultThread != null) {
            try {
                faultThread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (uffd != null) {
            for (RamBlock b : blocks) {
                try {
                    uffd.unregister(b.segment());
                } catch (RuntimeException e) {
                    // closing the fd below unregisters too
                }
            }
            uffd.close();
        }
        arena.close();
    }
}
