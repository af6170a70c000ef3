package dev.jhv.virtio.blk;

import dev.jhv.core.block.AsyncBlockIo;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.virtio.queue.DescriptorChain;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Runs virtio-blk requests on an {@link AsyncBlockIo} with many in flight, and hands each finished one back, status
 * written, through {@link Sink} on the thread that calls {@link #drain} (the device's I/O thread, or a pause).
 *
 * <p>The checks follow what QEMU's virtio-blk answers: a sector range outside the disk, or a length that is not a
 * whole number of sectors, is IOERR; a write, discard or write-zeroes to a read-only drive is IOERR; a type it does
 * not know, more than one discard/write-zeroes segment, or flags it does not know are UNSUPP.
 *
 * <p>FLUSH ordering: a flush is sent to the disk only once every write that was in flight when it arrived has
 * completed, so that it covers them (the driver may send a flush without waiting for its writes).
 *
 * <p>Thread use: {@link #submit}, {@link #drain} and {@link #forget} are called with the device's lock held (one
 * thread at a time); the engine's completions only queue the finished request and call the {@code ready} hook.
 */
final class BlkRequests {
    /** Where finished requests go: the used ring of their queue. */
    interface Sink {
        void completed(int queue, DescriptorChain chain, int written);
    }

    /** The limits the configuration space tells the driver, checked on each request. */
    record Limits(long maxDiscardSectors, long maxWriteZeroesSectors, boolean discard, boolean writeZeroes) {
    }

    private record Done(BlkRequest request, int status, long dataWritten) {
    }

    private final GuestMemory memory;
    private final AsyncBlockIo io;
    private final Limits limits;
    private final byte[] serial;
    private final boolean ignoreFlush;
    private final Runnable ready;
    private final ConcurrentLinkedQueue<Done> finished = new ConcurrentLinkedQueue<>();
    private final Object idle = new Object();
    /** Accepted and not yet handed to the sink (guarded by {@link #idle}). */
    private int inFlight;
    /** Writes in flight: what a flush that arrives now must wait for. */
    private final Set<BlkRequest> writesInFlight = new HashSet<>();
    private final List<PendingFlush> pendingFlushes = new ArrayList<>();
    private volatile boolean writeback;

    private static final class PendingFlush {
        final BlkRequest request;
        final Set<BlkRequest> waitingFor;

        PendingFlush(BlkRequest request, Set<BlkRequest> waitingFor) {
            this.request = request;
            this.waitingFor = waitingFor;
        }
    }

    /**
     * @param serial      GET_ID's answer (at most 20 bytes are sent)
     * @param ignoreFlush cache=unsafe: flushes complete at once
     * @param ready       called on an engine thread when a finished request waits for {@link #drain}
     */
    BlkRequests(GuestMemory memory, AsyncBlockIo io, Limits limits, String serial, boolean ignoreFlush,
                boolean writeback, Runnable ready) {
        this.memory = memory;
        this.io = io;
        this.limits = limits;
        this.serial = (serial == null ? "" : serial).getBytes(StandardCharsets.UTF_8);
        this.ignoreFlush = ignoreFlush;
        this.writeback = writeback;
        this.ready = ready;
    }

    /** The driver's write cache toggle (CONFIG_WCE): off, every write is flushed before it completes. */
    void setWriteback(boolean on) {
        writeback = on;
    }

    boolean writeback() {
        return writeback;
    }

    private long capacityBytes() {
        return io.device().size() & -BlkRequest.SECTOR;
    }

    /** Whether [sector, sector + bytes) lies on the disk and is whole sectors. */
    private boolean rangeOk(long sector, long bytes) {
        if (bytes % BlkRequest.SECTOR != 0 || sector < 0 || bytes < 0) {
            return false;
        }
        long cap = capacityBytes() / BlkRequest.SECTOR;
        return sector <= cap && bytes / BlkRequest.SECTOR <= cap - sector;
    }

    /** Starts {@code r}; its end comes back through {@link #drain}. */
    void submit(BlkRequest r) {
        synchronized (idle) {
            inFlight++;
        }
        boolean ro = io.device().isReadOnly();
        switch (r.type()) {
            case BlkRequest.T_IN, BlkRequest.T_OUT -> {
                boolean write = r.type() == BlkRequest.T_OUT;
                if (!rangeOk(r.sector(), r.dataLength()) || (write && ro)) {
                    finish(r, BlkRequest.S_IOERR, 0);
                } else if (write) {
                    writesInFlight.add(r);
                    io.write(r.sector() * BlkRequest.SECTOR, r.data(), e -> afterWrite(r, e));
                } else {
                    io.read(r.sector() * BlkRequest.SECTOR, r.data(), e -> finished(r, e, r.dataLength()));
                }
            }
            case BlkRequest.T_FLUSH -> flush(r);
            case BlkRequest.T_GET_ID -> getId(r);
            case BlkRequest.T_DISCARD, BlkRequest.T_WRITE_ZEROES -> discardOrZeroes(r, ro);
            default -> finish(r, BlkRequest.S_UNSUPP, 0);
        }
    }

    private void getId(BlkRequest r) {
        int n = (int) Math.min(Math.min(serial.length + 1, r.dataLength()), 20);
        byte[] id = java.util.Arrays.copyOf(serial, n); // the NUL after the serial when there is room
        int at = 0;
        for (var s : r.data()) {
            int k = (int) Math.min(s.byteSize(), n - at);
            java.lang.foreign.MemorySegment.copy(id, at, s, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, k);
            at += k;
            if (at == n) {
                break;
            }
        }
        finish(r, BlkRequest.S_OK, n);
    }

    private void discardOrZeroes(BlkRequest r, boolean ro) {
        boolean zeroes = r.type() == BlkRequest.T_WRITE_ZEROES;
        if (!(zeroes ? limits.writeZeroes() : limits.discard())) {
            finish(r, BlkRequest.S_UNSUPP, 0);
            return;
        }
        if (r.dataLength() != BlkRequest.SEGMENT) {
            // one segment only (max_discard_seg / max_write_zeroes_seg are 1); a partial one is unusable
            finish(r, BlkRequest.S_UNSUPP, 0);
            return;
        }
        var seg = ByteBuffer.wrap(r.dataBytes(BlkRequest.SEGMENT)).order(ByteOrder.LITTLE_ENDIAN);
        long sector = seg.getLong(0);
        long sectors = Integer.toUnsignedLong(seg.getInt(8));
        int flags = seg.getInt(12);
        int allowed = zeroes ? 1 : 0; // bit 0: unmap, meaningful for write-zeroes only
        if ((flags & ~allowed) != 0) {
            finish(r, BlkRequest.S_UNSUPP, 0);
            return;
        }
        long max = zeroes ? limits.maxWriteZeroesSectors() : limits.maxDiscardSectors();
        if (ro || sectors > max || !rangeOk(sector, sectors * BlkRequest.SECTOR)) {
            finish(r, BlkRequest.S_IOERR, 0);
            return;
        }
        long off = sector * BlkRequest.SECTOR;
        long len = sectors * BlkRequest.SECTOR;
        if (zeroes) {
            writesInFlight.add(r);
            io.writeZeroes(off, len, e -> afterWrite(r, e));
        } else {
            io.discard(off, len, e -> finished(r, e, 0));
        }
    }

    private void flush(BlkRequest r) {
        if (ignoreFlush) {
            finish(r, BlkRequest.S_OK, 0);
        } else if (writesInFlight.isEmpty()) {
            io.flush(e -> finished(r, e, 0));
        } else {
            pendingFlushes.add(new PendingFlush(r, new HashSet<>(writesInFlight)));
        }
    }

    /** A write ended (on an engine thread); with the write cache off it is made durable before it completes. */
    private void afterWrite(BlkRequest r, IOException e) {
        if (e == null && !writeback && !ignoreFlush) {
            io.flush(f -> finished(r, f, 0));
        } else {
            finished(r, e, 0);
        }
    }

    /** On an engine thread: queue the end of {@code r} for {@link #drain}. */
    private void finished(BlkRequest r, IOException e, long dataWritten) {
        int status = e == null ? BlkRequest.S_OK : BlkRequest.S_IOERR;
        if (e != null) {
            System.getLogger(BlkRequests.class.getName()).log(System.Logger.Level.DEBUG,
                    "virtio-blk request failed: " + e.getMessage());
        }
        finished.add(new Done(r, status, e == null ? dataWritten : 0));
        synchronized (idle) {
            idle.notifyAll();
        }
        ready.run();
    }

    /** On the submitting thread: a request answered at once. */
    private void finish(BlkRequest r, int status, long dataWritten) {
        finished.add(new Done(r, status, dataWritten));
    }

    /**
     * Writes the status of every finished request and hands it to {@code sink}; true if any was handed. A null
     * sink (a reset) drops them without touching guest memory.
     */
    boolean drain(Sink sink) {
        boolean any = false;
        for (Done d; (d = finished.poll()) != null; ) {
            BlkRequest r = d.request();
            if (writesInFlight.remove(r)) {
                releaseFlushes(r);
            }
            if (sink != null) {
                r.markDataWritten(memory, d.dataWritten());
                memory.writeByte(r.statusGpa(), d.status());
                memory.markWritten(r.statusGpa(), 1);
                sink.completed(r.queue(), r.chain(), r.usedLength());
                any = true;
            }
            synchronized (idle) {
                inFlight--;
                idle.notifyAll();
            }
        }
        return any;
    }

    private void releaseFlushes(BlkRequest write) {
        for (var it = pendingFlushes.iterator(); it.hasNext(); ) {
            PendingFlush f = it.next();
            if (f.waitingFor.remove(write) && f.waitingFor.isEmpty()) {
                it.remove();
                io.flush(e -> finished(f.request, e, 0));
            }
        }
    }

    /** How many requests were accepted and not yet handed to the sink. */
    int inFlight() {
        synchronized (idle) {
            return inFlight;
        }
    }

    /**
     * Waits until the engine has finished everything in flight, draining into {@code sink} as completions arrive
     * (null: dropping them, for a reset). Called with the device's lock held, so that no other thread drains.
     */
    void awaitIdle(Sink sink) throws InterruptedException {
        while (true) {
            drain(sink);
            synchronized (idle) {
                if (inFlight == 0) {
                    return;
                }
                if (finished.isEmpty()) {
                    idle.wait(1000);
                }
            }
        }
    }

    /** After a reset: nothing pending is answered (the queues are gone); {@link #awaitIdle} was called first. */
    void forget() {
        finished.clear();
        writesInFlight.clear();
        pendingFlushes.clear();
        synchronized (idle) {
            inFlight = 0;
        }
    }
}
