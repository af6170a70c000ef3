package dev.jhv.virtio.blk;

import dev.jhv.core.block.AsyncBlockIo;
import dev.jhv.core.block.Drive;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.devices.board.DriveSpec;
import dev.jhv.virtio.device.VirtioContext;
import dev.jhv.virtio.device.VirtioDevice;
import dev.jhv.virtio.device.VirtioFeatures;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.Virtqueue;
import dev.jhv.virtio.queue.VirtqueueException;

/**
 * The virtio block device (virtio 1.2, 5.2) on a {@link Drive}: read, write, flush, get-id, discard and
 * write-zeroes, on one or more request queues, with the features and configuration QEMU 7.2's virtio-blk-pci offers.
 *
 * <p>Requests run asynchronously on an {@link AsyncBlockIo} engine, as many at once as the engine takes; each one's
 * completion is handed back to the device's I/O thread ({@link VirtioContext#execute}) and pushed to its used ring
 * there. The engine ({@link AsyncBlockIo#open}) is {@link dev.jhv.core.block.IoUringBlockIo} for a raw file where
 * the host allows io_uring: one system call submits a request of any number of guest buffers with no copy, the
 * kernel runs up to 256 at once, and no thread waits per request. Otherwise (qcow2, whose cluster mapping and
 * backing chains live in Java; a host without io_uring) it is {@link dev.jhv.core.block.ThreadPoolBlockIo}, 16 named
 * threads making the thread-safe {@link dev.jhv.core.block.BlockDevice} calls, more than two cores can feed.
 *
 * <p>Guest memory the device writes (the data of IN, the GET_ID answer, the status byte) is marked in the memory's
 * write tracking before the request is pushed; {@link Virtqueue#push} marks the used ring.
 *
 * <p>State: only the write cache flag (CONFIG_WCE) is the device's own; {@link #pause} returns once every request in
 * flight has completed and been pushed, so that nothing is in flight while the transport saves the queues.
 */
public final class VirtioBlk implements VirtioDevice<VirtioBlk.State> {
    private static final System.Logger LOG = System.getLogger(VirtioBlk.class.getName());

    public static final int DEVICE_TYPE = 2;
    /** QEMU's default queue-size. */
    public static final int QUEUE_SIZE = 256;
    /** Requests the thread-pool engine runs at once. */
    static final int ENGINE_THREADS = 16;

    public static final long F_SIZE_MAX = 1L << 1;
    public static final long F_SEG_MAX = 1L << 2;
    public static final long F_GEOMETRY = 1L << 4;
    public static final long F_RO = 1L << 5;
    public static final long F_BLK_SIZE = 1L << 6;
    /** VIRTIO_BLK_F_FLUSH (legacy drivers call it WCE). */
    public static final long F_FLUSH = 1L << 9;
    public static final long F_TOPOLOGY = 1L << 10;
    public static final long F_CONFIG_WCE = 1L << 11;
    public static final long F_MQ = 1L << 12;
    public static final long F_DISCARD = 1L << 13;
    public static final long F_WRITE_ZEROES = 1L << 14;

    /** The device's own state: whether the write cache is on (the configuration's writeback byte). */
    public record State(boolean writeback) {
    }

    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "virtio-blk", 1)
            .minimumVersion(1)
            .bool("writeback")
            .build();

    private final Drive drive;
    private final String serial;
    private final int numQueues;
    private final DriveSpec.Cache cache;
    private final AsyncBlockIo io;
    private final Object lock = new Object();
    private final byte[] config;

    private VirtioContext context;
    private long features;
    private BlkRequests requests;
    private boolean broken;
    private volatile boolean paused;
    private volatile boolean writeback;

    /**
     * @param serial    GET_ID's answer (null: none, an empty string)
     * @param numQueues request queues, at least 1 (QEMU's default for virtio-blk-pci is the number of vCPUs)
     * @param cache     the drive's cache=: the initial write cache flag, and whether flushes are ignored (unsafe)
     */
    public VirtioBlk(Drive drive, String serial, int numQueues, DriveSpec.Cache cache) {
        this(drive, serial, numQueues, cache,
                AsyncBlockIo.open(drive.device(), "virtio-blk-" + drive.id(), ENGINE_THREADS));
    }

    /** The same on a given engine (which the device closes with itself). */
    public VirtioBlk(Drive drive, String serial, int numQueues, DriveSpec.Cache cache, AsyncBlockIo io) {
        if (numQueues < 1 || numQueues > 1024) {
            throw new IllegalArgumentException("virtio-blk: num-queues must be 1 to 1024, not " + numQueues);
        }
        this.drive = drive;
        this.serial = serial;
        this.numQueues = numQueues;
        this.cache = cache;
        this.io = io;
        this.writeback = initialWriteback();
        this.config = VirtioBlkConfig.bytes(drive.device().size() / BlkRequest.SECTOR, QUEUE_SIZE, numQueues,
                writeback);
    }

    private boolean initialWriteback() {
        return cache != DriveSpec.Cache.WRITETHROUGH && cache != DriveSpec.Cache.DIRECTSYNC;
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public String name() {
        return "virtio-blk";
    }

    @Override
    public long deviceFeatures() {
        long f = F_SEG_MAX | F_GEOMETRY | F_BLK_SIZE | F_FLUSH | F_TOPOLOGY | F_CONFIG_WCE;
        if (numQueues > 1) {
            f |= F_MQ;
        }
        if (readOnly()) {
            f |= F_RO;
        } else {
            f |= F_DISCARD | F_WRITE_ZEROES;
        }
        return f;
    }

    private boolean readOnly() {
        return drive.readOnly() || drive.device().isReadOnly();
    }

    @Override
    public int queueCount() {
        return numQueues;
    }

    @Override
    public int queueMaxSize(int q) {
        return QUEUE_SIZE;
    }

    @Override
    public int configLength() {
        return VirtioBlkConfig.LENGTH;
    }

    @Override
    public int readConfig(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            int b = at == VirtioBlkConfig.WRITEBACK ? (writeback ? 1 : 0)
                    : at >= 0 && at < config.length ? config[at] & 0xff : 0;
            v |= b << (8 * i);
        }
        return v;
    }

    @Override
    public void writeConfig(int offset, int size, int value) {
        // only the writeback byte is writable (CONFIG_WCE); the rest is read-only and writes are ignored
        if (offset == VirtioBlkConfig.WRITEBACK && size == 1) {
            setWriteback((value & 1) != 0);
        }
    }

    private void setWriteback(boolean on) {
        writeback = on;
        BlkRequests r = requests;
        if (r != null) {
            r.setWriteback(on);
        }
    }

    @Override
    public void activate(VirtioContext ctx, long negotiated) {
        synchronized (lock) {
            this.context = ctx;
            this.features = negotiated;
            this.broken = false;
            if (!VirtioFeatures.has(negotiated, F_FLUSH)) {
                // a driver that cannot flush gets every write made durable before it completes (5.2.5)
                writeback = false;
            }
            var limits = new BlkRequests.Limits(VirtioBlkConfig.MAX_SECTORS, VirtioBlkConfig.MAX_SECTORS,
                    !readOnly(), !readOnly());
            this.requests = new BlkRequests(ctx.memory(), io, limits, serial,
                    cache == DriveSpec.Cache.UNSAFE, writeback, () -> ctx.execute(this::completeRequests));
        }
    }

    @Override
    public void queueNotified(int q) {
        synchronized (lock) {
            if (requests == null || broken || paused || q < 0 || q >= numQueues) {
                return;
            }
            GuestMemory memory = context.memory();
            Virtqueue vq = context.queue(q);
            try {
                // take what is there with notifications off, then on again and look once more (a chain may have
                // come in between)
                while (true) {
                    vq.setNotifications(memory, false);
                    DescriptorChain c;
                    while ((c = vq.pop(memory)) != null) {
                        if (!take(q, c)) {
                            return;
                        }
                    }
                    vq.setNotifications(memory, true);
                    c = vq.pop(memory);
                    if (c == null) {
                        break;
                    }
                    if (!take(q, c)) {
                        return;
                    }
                }
            } catch (VirtqueueException e) {
                fail(e.getMessage());
                return;
            }
            pushCompleted();
        }
    }

    /** Parses and starts one request; false when the chain is unusable and the device now needs a reset. */
    private boolean take(int q, DescriptorChain c) {
        BlkRequest.Parsed p;
        try {
            p = BlkRequest.parse(context.memory(), q, c);
        } catch (RuntimeException e) {
            p = new BlkRequest.Broken("request " + c.head() + ": " + e.getMessage());
        }
        switch (p) {
            case BlkRequest.Broken b -> {
                fail("queue " + q + ": " + b.reason());
                return false;
            }
            case BlkRequest.Ok ok -> requests.submit(ok.request());
        }
        return true;
    }

    private void fail(String reason) {
        broken = true;
        LOG.log(System.Logger.Level.WARNING, drive.id() + ": " + reason);
        context.needsReset(reason);
    }

    /** On the I/O thread: the engine finished requests. */
    private void completeRequests() {
        synchronized (lock) {
            if (requests != null) {
                pushCompleted();
            }
        }
    }

    /** Pushes every finished request to its used ring and interrupts the queues that got one. */
    private void pushCompleted() {
        var pusher = new Pusher();
        requests.drain(pusher);
        pusher.interrupt();
    }

    /** Puts finished requests in their used rings and remembers which queues to interrupt. */
    private final class Pusher implements BlkRequests.Sink {
        private final GuestMemory memory = context.memory();
        private final boolean[] pushed = new boolean[numQueues];

        @Override
        public void completed(int queue, DescriptorChain chain, int written) {
            context.queue(queue).push(memory, chain, written);
            pushed[queue] = true;
        }

        void interrupt() {
            for (int q = 0; q < numQueues; q++) {
                if (pushed[q]) {
                    context.usedBuffers(q);
                }
            }
        }
    }

    @Override
    public void reset() {
        synchronized (lock) {
            if (requests != null) {
                awaitIdle(false);
                requests.forget();
            }
            requests = null;
            context = null;
            features = 0;
            broken = false;
            writeback = initialWriteback();
        }
    }

    /** Waits for the engine to finish what is in flight; pushes the completions, or drops them for a reset. */
    private void awaitIdle(boolean push) {
        var pusher = push ? new Pusher() : null;
        try {
            requests.awaitIdle(pusher);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.log(System.Logger.Level.WARNING, drive.id() + ": interrupted while waiting for requests in flight");
        }
        if (pusher != null) {
            pusher.interrupt();
        }
    }

    @Override
    public void pause() {
        paused = true;
        synchronized (lock) {
            if (requests != null) {
                awaitIdle(true);
            }
        }
    }

    @Override
    public void resume() {
        paused = false;
        VirtioContext ctx;
        synchronized (lock) {
            ctx = context;
        }
        if (ctx != null) {
            // notifications that came during the pause were not acted on: look at every queue once
            ctx.execute(() -> {
                for (int q = 0; q < numQueues; q++) {
                    queueNotified(q);
                }
            });
        }
    }

    /** Requests accepted and not yet pushed (for tests and "info" output). */
    public int inFlight() {
        BlkRequests r = requests;
        return r == null ? 0 : r.inFlight();
    }

    /** The engine's name, for the log and the report ("thread pool"). */
    public String engineName() {
        return io.engineName();
    }

    @Override
    public void close() {
        io.close();
    }

    @Override
    public RecordDescription<State> stateDescription() {
        return VMSTATE;
    }

    @Override
    public State state() {
        return new State(writeback);
    }

    @Override
    public void restore(State state) {
        setWriteback(state.writeback());
    }
}
