package dev.jhv.migration.postcopy;

import dev.jhv.core.vmstate.VMStateOutput;
import dev.jhv.migration.stream.RamBlock;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The source's side once postcopy has begun (the guest is stopped here and runs on the destination): the pages
 * the destination still lacks, sent in address order in the background, with the pages the destination asks for
 * (its guest is waiting on them) sent first, as soon as the current page is out. The background push goes on
 * after a requested page, where the guest is likely to touch next. All but {@link #request} run on one thread.
 */
public final class PostcopySource {
    /** Pages written between flushes of the background push, so that a request's answer is not held behind them. */
    private static final int FLUSH_PAGES = 16;

    /** A page range the destination asked for. */
    private record Request(int block, long offset, long length) { }

    private final List<RamBlock> blocks;
    private final long[][] pending;
    private final long[] pages;
    private final PageRecords records;
    private final ConcurrentLinkedQueue<Request> requests = new ConcurrentLinkedQueue<>();
    private final AtomicLong requestCount = new AtomicLong();
    private volatile long bytes;
    private volatile long remaining;
    private int cursorBlock;
    private long cursorPage;

    /** @param pending per block, the pages not on the destination yet (RamStateEntry's, after the final sync) */
    public PostcopySource(List<RamBlock> blocks, long[][] pending) {
        this.blocks = List.copyOf(blocks);
        this.pending = pending;
        this.pages = new long[blocks.size()];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = blocks.get(i).size() / PageRecords.PAGE;
        }
        this.records = new PageRecords(this.blocks);
        this.remaining = PageRuns.count(pending);
    }

    /** The listen command's body: the pages the destination must treat as missing. */
    public void writeListen(VMStateOutput out) {
        PageRuns.write(out, pending, pages);
    }

    /** The destination's guest waits on [offset, offset + length) of block {@code block} (the return path's thread). */
    public void request(int block, long offset, long length) {
        requestCount.incrementAndGet();
        requests.add(new Request(block, offset, length));
    }

    /** QEMU's postcopy-requests: how many page requests the destination sent. */
    public long requests() {
        return requestCount.get();
    }

    /** Bytes of pages sent since postcopy began (QEMU's postcopy-bytes). */
    public long bytes() {
        return bytes;
    }

    /** Pages not sent yet. */
    public long remainingPages() {
        return remaining;
    }

    /** After a recovery: what the destination has is not sent again, everything else is (in flight or not). */
    public void resume(long[][] received) {
        long left = 0;
        for (int b = 0; b < pending.length; b++) {
            for (int w = 0; w < pending[b].length; w++) {
                long n = pages[b] - 64L * w;
                long valid = n >= 64 ? -1L : (1L << n) - 1;
                pending[b][w] = ~received[b][w] & valid;
                left += Long.bitCount(pending[b][w]);
            }
        }
        remaining = left;
        requests.clear(); // the destination asks again for what it still waits on
        cursorBlock = 0;
        cursorPage = 0;
    }

    /**
     * Sends every pending page and the end record; {@code check} runs between pages (it throws to stop). A failed
     * write throws the stream's exception; {@link #resume} and another push then go on from what arrived.
     */
    public void push(VMStateOutput out, Runnable check) {
        int sinceFlush = 0;
        while (remaining > 0) {
            check.run();
            Request r = requests.poll();
            if (r != null) {
                if (sendRange(out, r)) {
                    out.flush();
                    sinceFlush = 0;
                }
                continue;
            }
            if (!sendNext(out)) {
                break;
            }
            if (++sinceFlush >= FLUSH_PAGES) {
                out.flush();
                sinceFlush = 0;
            }
        }
        PageRecords.writeEnd(out);
        out.flush();
    }

    /** Sends what is still pending of a request; true if it sent anything. Moves the background push there. */
    private boolean sendRange(VMStateOutput out, Request r) {
        if (r.block() < 0 || r.block() >= blocks.size() || r.length() <= 0) {
            return false;
        }
        boolean sent = false;
        long first = r.offset() / PageRecords.PAGE;
        long last = Math.min(pages[r.block()], (r.offset() + r.length() + PageRecords.PAGE - 1) / PageRecords.PAGE);
        for (long p = first; p < last; p++) {
            sent |= send(out, r.block(), p);
        }
        if (sent) {
            cursorBlock = r.block();
            cursorPage = last;
        }
        return sent;
    }

    /** The next pending page from the cursor, wrapping once; false when none is left. */
    private boolean sendNext(VMStateOutput out) {
        for (int tries = 0; tries <= blocks.size(); tries++) {
            long p = PageRuns.next(pending[cursorBlock], cursorPage, pages[cursorBlock]);
            if (p >= 0) {
                send(out, cursorBlock, p);
                cursorPage = p + 1;
                return true;
            }
            cursorBlock = (cursorBlock + 1) % blocks.size();
            cursorPage = 0;
        }
        return false;
    }

    private boolean send(VMStateOutput out, int block, long page) {
        long[] bits = pending[block];
        long bit = 1L << page;
        if ((bits[(int) (page >>> 6)] & bit) == 0) {
            return false;
        }
        bytes += records.write(out, block, page * PageRecords.PAGE);
        bits[(int) (page >>> 6)] &= ~bit;
        remaining--;
        return true;
    }
}
