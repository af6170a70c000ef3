package dev.jhv.core.net;

import dev.jhv.core.sys.EventFd;
import dev.jhv.core.sys.LibSlirp;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * -netdev user: libslirp's user-mode network (a gateway at 10.0.2.2, DHCP, DNS at 10.0.2.3, host forwards), no
 * privileges needed. libslirp is single-threaded, so everything it does runs on this backend's thread: frames from
 * the guest come through a queue and an eventfd in its poll set, its timers are kept here and fired by the loop.
 */
public final class SlirpBackend implements NetBackend {
    /** Frames from the guest waiting for the loop; beyond this a send is refused until the loop catches up. */
    private static final int INPUT_QUEUE = 256;
    /** Frames for a guest with no buffer, kept until it has one; beyond this they are dropped, as by a NIC. */
    private static final int OUTPUT_QUEUE = 512;
    private static final int FRAME_BUFFER = 65536 + 4096;
    /** The longest poll with no timer due: slirp's own timeouts are shorter. */
    private static final int MAX_WAIT_MS = 1000;
    private static final System.Logger LOG = System.getLogger("jhv.net.slirp");

    private record Timer(int id, long cbOpaque) { }

    private final NetdevConfig.User config;
    private final EventFd wake = EventFd.create(true);
    private final LibSlirp slirp;
    private final ConcurrentLinkedQueue<byte[]> input = new ConcurrentLinkedQueue<>();
    private final AtomicInteger inputCount = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment inputBuffer = arena.allocate(FRAME_BUFFER, 16);
    /** Loop thread only. */
    private final Map<Long, Timer> timers = new HashMap<>();
    private final Map<Long, Long> deadlines = new HashMap<>();
    private final ArrayDeque<byte[]> output = new ArrayDeque<>();
    private long nextTimer = 1;
    private boolean paused;
    private volatile boolean closing;
    private volatile boolean resumeRequested;
    private volatile boolean wantWritable;
    private Receiver receiver;
    private final Frames.DropLog drops;
    private Thread thread;

    private SlirpBackend(NetdevConfig.User config) {
        this.config = config;
        this.drops = new Frames.DropLog(LOG, config.id());
        LibSlirp s;
        try {
            s = LibSlirp.create(new LibSlirp.Config(config.network(), config.netmask(), config.host(),
                    config.dhcpStart(), config.dns(), config.restricted()), new Callbacks());
        } catch (UnsatisfiedLinkError | IllegalStateException | IllegalArgumentException e) {
            wake.close();
            arena.close();
            throw new NetBackendException("user-mode networking needs libslirp (Debian's libslirp0): "
                    + e.getMessage(), e);
        }
        this.slirp = s;
    }

    /**
     * A slirp network as {@code config} says, with its host forwards bound.
     *
     * @throws NetBackendException "Could not set up host forwarding rule 'udp::5555-:7'" when a port is in use
     */
    public static SlirpBackend open(NetdevConfig.User config) {
        var b = new SlirpBackend(config);
        for (var f : config.hostForwards()) {
            // slirp is not running yet: this thread may call it
            if (!b.slirp.addHostForward(f.udp(), f.hostAddr(), f.hostPort(), f.guestAddr(), f.guestPort())) {
                b.close();
                throw new NetBackendException("Could not set up host forwarding rule '" + f.rule() + "'");
            }
        }
        return b;
    }

    @Override
    public String id() {
        return config.id();
    }

    @Override
    public int vnetHeaderLength() {
        return 0;
    }

    @Override
    public boolean send(List<MemorySegment> parts) {
        long len = 0;
        for (MemorySegment p : parts) {
            len += p.byteSize();
        }
        if (len > FRAME_BUFFER) {
            drops.drop("a frame of " + len + " bytes");
            return true;
        }
        if (inputCount.get() >= INPUT_QUEUE) {
            wantWritable = true;
            wake.signal();
            return false;
        }
        byte[] frame = new byte[(int) len];
        MemorySegment f = MemorySegment.ofArray(frame);
        long at = 0;
        for (MemorySegment p : parts) {
            MemorySegment.copy(p, 0, f, at, p.byteSize());
            at += p.byteSize();
        }
        inputCount.incrementAndGet();
        input.add(frame);
        wake.signal();
        return true;
    }

    @Override
    public void start(Receiver receiver) {
        Frames.checkNotStarted(config.id(), this.receiver);
        this.receiver = receiver;
        thread = Frames.startLoop(config.id(), this::loop);
    }

    @Override
    public void resumeReceive() {
        resumeRequested = true;
        wake.signal();
    }

    private void loop() {
        try {
            while (!closing) {
                if (slirp.pollOnce(wake.fd(), waitMs())) {
                    wake.read();
                }
                if (closing) {
                    break;
                }
                fireTimers();
                takeInput();
                if (resumeRequested) {
                    resumeRequested = false;
                    flushOutput();
                }
            }
        } catch (RuntimeException e) {
            if (!closing) {
                LOG.log(System.Logger.Level.ERROR, config.id() + ": the slirp loop stopped", e);
            }
        }
    }

    private int waitMs() {
        if (!input.isEmpty() || resumeRequested) {
            return 0;
        }
        long now = System.nanoTime() / 1_000_000;
        long wait = MAX_WAIT_MS;
        for (long d : deadlines.values()) {
            wait = Math.min(wait, Math.max(0, d - now));
        }
        return (int) wait;
    }

    private void fireTimers() {
        if (deadlines.isEmpty()) {
            return;
        }
        long now = System.nanoTime() / 1_000_000;
        var due = deadlines.entrySet().stream().filter(e -> e.getValue() <= now).map(Map.Entry::getKey).toList();
        for (long handle : due) {
            deadlines.remove(handle);
            Timer t = timers.get(handle);
            if (t != null) {
                slirp.handleTimer(t.id(), t.cbOpaque());
            }
        }
    }

    private void takeInput() {
        byte[] frame;
        while ((frame = input.poll()) != null) {
            inputCount.decrementAndGet();
            MemorySegment.copy(MemorySegment.ofArray(frame), 0, inputBuffer, 0, frame.length);
            slirp.input(inputBuffer.asSlice(0, frame.length));
        }
        if (wantWritable && inputCount.get() < INPUT_QUEUE / 2) {
            wantWritable = false;
            receiver.writable();
        }
    }

    /** Frames kept while the guest had no buffer go to it now, until it refuses one again. */
    private void flushOutput() {
        paused = false;
        while (!output.isEmpty()) {
            if (!receiver.receive(MemorySegment.ofArray(output.peekFirst()))) {
                paused = true;
                return;
            }
            output.removeFirst();
        }
    }

    private void toGuest(MemorySegment frame) {
        if (!paused && output.isEmpty()) {
            if (receiver.receive(frame)) {
                return;
            }
            paused = true;
        }
        if (output.size() >= OUTPUT_QUEUE) {
            drops.drop("the guest takes no frames");
            return;
        }
        output.addLast(frame.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    /** libslirp's calls, all on the loop thread (or on the opening thread before the loop starts). */
    private final class Callbacks implements LibSlirp.Callbacks {
        @Override
        public void sendPacket(MemorySegment frame) {
            if (receiver != null) {
                toGuest(frame);
            }
        }

        @Override
        public void guestError(String message) {
            LOG.log(System.Logger.Level.WARNING, "{0}: guest error: {1}", config.id(), message);
        }

        @Override
        public long timerNew(int id, long cbOpaque) {
            long handle = nextTimer++;
            timers.put(handle, new Timer(id, cbOpaque));
            return handle;
        }

        @Override
        public void timerFree(long timer) {
            timers.remove(timer);
            deadlines.remove(timer);
        }

        @Override
        public void timerMod(long timer, long expireMs) {
            if (timers.containsKey(timer)) {
                deadlines.put(timer, expireMs);
            }
        }

        @Override
        public void notifyLoop() {
            // the loop polls what slirp names each round; it runs on this thread, so nothing to wake
        }
    }

    /** QEMU's line: "n0: index=0,type=user,net=10.0.2.0,restrict=off". */
    @Override
    public String info() {
        return config.id() + ": index=0,type=user,net=" + NetdevConfig.dotted(config.network())
                + ",restrict=" + (config.restricted() ? "on" : "off");
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        closing = true;
        wake.signal();
        Frames.join(thread);
        slirp.close();
        wake.close();
        arena.close();
    }
}
