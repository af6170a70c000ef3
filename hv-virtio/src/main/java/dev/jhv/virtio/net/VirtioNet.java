package dev.jhv.virtio.net;

import dev.jhv.core.memory.GuestMemoryException;
import dev.jhv.core.net.NetBackend;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.core.vmstate.ScalarType;
import dev.jhv.virtio.device.VirtioContext;
import dev.jhv.virtio.device.VirtioDevice;
import dev.jhv.virtio.device.VirtioFeatures;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.VirtqueueException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;

/**
 * virtio-net (virtio 1.2, 5.1), device type 1, one queue pair: receive queue 0, transmit queue 1, control queue 2.
 * Offers checksum and segmentation offloads when the backend carries a vnet header (tap), none otherwise (user,
 * stream); mergeable receive buffers, link status, the control queue with rx mode, MAC table, VLAN filter, MAC
 * address, guest offloads and announce commands.
 *
 * <p>Threads. Queues are used on the device's I/O thread only (the transport's rule). A frame the backend receives
 * arrives on the backend's thread: it is copied into a short backlog and the I/O thread is asked to deliver it,
 * so the queue is never touched from two threads. When the backlog is full (the guest posts no buffers, or is
 * slower than the wire), {@link NetBackend.Receiver#receive} says false and the backend holds its frame until
 * {@link NetBackend#resumeReceive}, called once the backlog has drained to half. Frames in the backlog are not
 * guest state: a migration or reset drops them, as a wire would. The configuration space is read by vCPU threads:
 * the MAC and status it shows are volatile.
 */
public final class VirtioNet implements VirtioDevice<VirtioNet.State> {
    private static final System.Logger LOG = System.getLogger(VirtioNet.class.getName());

    public static final int DEVICE_TYPE = 1;
    public static final int RX_QUEUE = 0;
    public static final int TX_QUEUE = 1;
    public static final int CTRL_QUEUE = 2;
    /** QEMU's default queue size for virtio-net. */
    public static final int QUEUE_SIZE = 256;

    public static final int STATUS_LINK_UP = 1;
    public static final int STATUS_ANNOUNCE = 2;

    /** mac[6], status, max_virtqueue_pairs (virtio 1.2, 5.1.4); mtu is not offered. */
    static final int CONFIG_LENGTH = 10;
    /** Frames waiting for the I/O thread before the backend is told to hold back. */
    static final int RX_BACKLOG = 64;
    /** Transmit chains handled in one go before the I/O thread does other work. */
    static final int TX_BATCH = 256;
    /** The largest received frame taken (a 64 KiB GSO frame and its header). */
    static final int MAX_RX_FRAME = 65536 + NetHeader.LENGTH;

    /** What counters say: frames moved and frames dropped, by direction. */
    public record Stats(long txFrames, long txDropped, long rxFrames, long rxFiltered, long rxDropped) { }

    /**
     * What a migration carries besides the queues: the MAC the driver may have set, the status (its ANNOUNCE bit),
     * the rx mode, the MAC table (unicast entries then multicast ones from {@code firstMulti}, six bytes each,
     * with the overflow flags), the VLAN bitmap (bit v of byte v/8) and the receive offloads the driver set with
     * CTRL_GUEST_OFFLOADS ({@code -1}: it did not, all negotiated ones apply).
     */
    public record State(byte[] mac, int status, boolean promisc, boolean allmulti, boolean alluni,
                        boolean nomulti, boolean nouni, boolean nobcast, byte[] macTable, int firstMulti,
                        boolean uniOverflow, boolean multiOverflow, byte[] vlans, long guestOffloads) {
        /** What a device is after reset, apart from the MAC (the configured one). */
        static State reset(MacAddress mac) {
            return new State(mac.bytes(), STATUS_LINK_UP, true, false, false, false, false, false, new byte[0], 0,
                    false, false, new byte[RxFilter.VLAN_IDS / 8], -1L);
        }

        /** Null, or why no device can hold this state. */
        String invalid() {
            if (mac.length != 6) {
                return "mac has " + mac.length + " bytes";
            }
            if ((status & ~(STATUS_LINK_UP | STATUS_ANNOUNCE)) != 0) {
                return "status 0x" + Integer.toHexString(status) + " has unknown bits";
            }
            if (macTable.length % 6 != 0 || macTable.length > 6 * RxFilter.TABLE_ENTRIES) {
                return "mac_table has " + macTable.length + " bytes, not up to " + RxFilter.TABLE_ENTRIES
                        + " addresses";
            }
            if (firstMulti < 0 || firstMulti > macTable.length / 6) {
                return "first_multi " + firstMulti + " is past the " + macTable.length / 6 + " table entries";
            }
            if (vlans.length != RxFilter.VLAN_IDS / 8) {
                return "vlans has " + vlans.length + " bytes";
            }
            if (guestOffloads != -1 && (guestOffloads & ~NetFeatures.GUEST_OFFLOADS) != 0) {
                return "guest_offloads 0x" + Long.toHexString(guestOffloads) + " has bits that are no offload";
            }
            return null;
        }
    }

    private static final RecordDescription<State> RX_MODE_EXTRA = RecordDescription.part(State.class,
                    "virtio-net/rx_mode_extra", 1)
            .bool("alluni").bool("nomulti").bool("nouni").bool("nobcast")
            .build();

    private static final RecordDescription<State> MAC_TABLE = RecordDescription.part(State.class,
                    "virtio-net/mac_table", 1)
            .lengthOf("mac_table_len", ScalarType.U16, "macTable")
            .vbuffer("mac_table", "mac_table_len", 6 * RxFilter.TABLE_ENTRIES, "macTable")
            .u8("first_multi")
            .bool("uni_overflow")
            .bool("multi_overflow")
            .build();

    private static final RecordDescription<State> VLANS = RecordDescription.part(State.class, "virtio-net/vlans", 1)
            .buffer("vlans", RxFilter.VLAN_IDS / 8)
            .build();

    private static final RecordDescription<State> GUEST_OFFLOADS = RecordDescription.part(State.class,
                    "virtio-net/guest_offloads", 1)
            .u64("guest_offloads")
            .build();

    /** The device's own part of a virtio-net migration section. */
    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "virtio-net", 1)
            .minimumVersion(1)
            .buffer("mac", 6)
            .u16("status")
            .bool("promisc")
            .bool("allmulti")
            .subsection(RX_MODE_EXTRA, s -> s.alluni() || s.nomulti() || s.nouni() || s.nobcast())
            .subsection(MAC_TABLE, s -> s.macTable().length > 0 || s.uniOverflow() || s.multiOverflow())
            .subsection(VLANS, s -> anySet(s.vlans()))
            .subsection(GUEST_OFFLOADS, s -> s.guestOffloads() != -1)
            .defaults(State.reset(new MacAddress(0)))
            .check(State::invalid)
            .build();

    /** One activation: the negotiated features and the paths built for them. Replaced whole at reset. */
    private record Active(VirtioContext context, long features, Ring rxRing, Ring txRing, Ring ctrlRing,
                          RxPath rx, TxPath tx, ControlCommands control) {
        boolean has(long bit) {
            return (features & bit) != 0;
        }
    }

    private final NetBackend backend;
    private final MacAddress configuredMac;
    private final Announcer.Params announceParams;
    private final Announcer.Timer timer;
    private final NetCounters counters = new NetCounters();
    private final RxFilter filter = new RxFilter();
    private final ControlCommands.Target controlTarget = new ControlTarget();

    private volatile MacAddress mac;
    private volatile int status = STATUS_LINK_UP;
    private volatile Active active;
    private volatile boolean paused;
    /** The driver broke a rule: nothing more is done until reset. I/O thread. */
    private boolean broken;
    /** Receive offloads the driver chose with CTRL_GUEST_OFFLOADS, -1 when it did not. */
    private long guestOffloads = -1;
    /** A transmit chain the backend could not take: sent first once it is writable. I/O thread. */
    private DescriptorChain txPending;

    private final Object rxLock = new Object();
    private final ArrayDeque<byte[]> backlog = new ArrayDeque<>(); // guarded by rxLock
    private boolean rxHeldBack; // guarded by rxLock: a receive said false
    private final AtomicBoolean drainQueued = new AtomicBoolean();
    private boolean backendStarted;

    private final Object announceLock = new Object();
    private int announceGeneration; // guarded by announceLock
    private Future<?> announceTimer; // guarded by announceLock
    private boolean announceAtResume; // guarded by announceLock: announce() came while paused

    /**
     * A virtio-net on {@code backend} with {@code mac} (from {@code mac=}, or {@link MacAllocator#next}). The
     * backend is started when the driver first activates the device.
     */
    public VirtioNet(NetBackend backend, MacAddress mac) {
        this(backend, mac, Announcer.Params.QEMU, Announcer.Timer.SHARED);
    }

    VirtioNet(NetBackend backend, MacAddress mac, Announcer.Params announceParams, Announcer.Timer timer) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.configuredMac = Objects.requireNonNull(mac, "mac");
        this.announceParams = announceParams;
        this.timer = timer;
        this.mac = mac;
    }

    static int headerLength(long features) {
        return VirtioFeatures.has(features, VirtioFeatures.VERSION_1) || (features & NetFeatures.MRG_RXBUF) != 0
                ? NetHeader.LENGTH : NetHeader.LEGACY_LENGTH;
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public String name() {
        return "virtio-net";
    }

    @Override
    public long deviceFeatures() {
        return NetFeatures.offered(backend.vnetHeaderLength() > 0);
    }

    @Override
    public int queueCount() {
        return 3;
    }

    @Override
    public int queueMaxSize(int q) {
        return QUEUE_SIZE;
    }

    @Override
    public int configLength() {
        return CONFIG_LENGTH;
    }

    @Override
    public int readConfig(int offset, int size) {
        byte[] c = new byte[CONFIG_LENGTH];
        mac.put(c, 0);
        NetHeader.put16(c, 6, status);
        NetHeader.put16(c, 8, 1);
        int v = 0;
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            if (at >= 0 && at < CONFIG_LENGTH) {
                v |= (c[at] & 0xff) << (8 * i);
            }
        }
        return v;
    }

    /** A legacy driver (no VERSION_1, no CTRL_MAC_ADDR) sets the MAC by writing it; everything else is read-only. */
    @Override
    public void writeConfig(int offset, int size, int value) {
        Active a = active;
        if (a != null && (a.has(VirtioFeatures.VERSION_1) || a.has(NetFeatures.CTRL_MAC_ADDR))) {
            return;
        }
        byte[] m = mac.bytes();
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            if (at >= 0 && at < 6) {
                m[at] = (byte) (value >>> (8 * i));
            }
        }
        mac = MacAddress.of(m, 0);
    }

    /** The MAC the guest has now (the configured one until the driver sets another). */
    public MacAddress mac() {
        return mac;
    }

    /**
     * QEMU's set_link: with the link down the LINK_UP status bit is clear (a configuration interrupt tells the
     * driver) and frames are dropped both ways, as on an unplugged cable.
     */
    public void setLinkUp(boolean up) {
        Active a = active;
        if (a == null) {
            status = up ? status | STATUS_LINK_UP : status & ~STATUS_LINK_UP;
            return;
        }
        a.context().execute(() -> {
            int was = status;
            status = up ? was | STATUS_LINK_UP : was & ~STATUS_LINK_UP;
            if (status != was) {
                a.context().configChanged();
                if (up) {
                    kick();
                }
            }
        });
    }

    public boolean linkUp() {
        return (status & STATUS_LINK_UP) != 0;
    }

    public Stats stats() {
        return counters.snapshot();
    }

    @Override
    public void activate(VirtioContext context, long features) {
        activate(context, features, q -> Ring.of(context, q));
    }

    /** {@link #activate} over the given rings (tests give rings of hand-built chains). */
    void activate(VirtioContext context, long features, IntFunction<Ring> rings) {
        Ring rx = rings.apply(RX_QUEUE);
        Ring tx = rings.apply(TX_QUEUE);
        Ring ctrl = rings.apply(CTRL_QUEUE);
        var memory = context.memory();
        broken = false;
        txPending = null;
        active = new Active(context, features, rx, tx, ctrl,
                new RxPath(memory, rx, features, backend.vnetHeaderLength(), filter, this::mac, counters),
                new TxPath(memory, features, backend, counters),
                new ControlCommands(memory, features, controlTarget));
        applyOffloads();
        if (!backendStarted) {
            backendStarted = true;
            backend.start(new BackendReceiver());
        }
        context.execute(this::kick);
    }

    private void kick() {
        flushTx();
        drainRx();
        runControl();
    }

    @Override
    public void queueNotified(int q) {
        switch (q) {
            case RX_QUEUE -> drainRx();
            case TX_QUEUE -> flushTx();
            case CTRL_QUEUE -> runControl();
            default -> { }
        }
    }

    @Override
    public void reset() {
        active = null;
        cancelAnnounce();
        boolean resume;
        synchronized (rxLock) {
            backlog.clear();
            resume = rxHeldBack;
            rxHeldBack = false;
        }
        filter.reset();
        mac = configuredMac;
        status &= STATUS_LINK_UP; // the cable stays as set_link left it
        guestOffloads = -1;
        txPending = null;
        broken = false;
        if (backend.vnetHeaderLength() > 0) {
            backend.setOffloads(false, false, false, false, false);
        }
        if (resume) {
            backend.resumeReceive();
        }
    }

    /**
     * Stops the announcement and hands back what the device holds from the queues: a transmit chain the backend
     * did not take (its frame is dropped, as a congested wire would) and reserved receive chains, empty. The
     * transport calls this with the device's I/O thread idle.
     */
    @Override
    public void pause() {
        synchronized (announceLock) {
            paused = true;
        }
        cancelAnnounce();
        Active a = active;
        if (a == null) {
            return;
        }
        if (txPending != null) {
            a.txRing().push(txPending, 0);
            txPending = null;
            counters.txDropped.incrementAndGet();
            a.txRing().notifyDriver();
        }
        a.rx().returnReserve();
        if (a.rx().takePushed()) {
            a.rxRing().notifyDriver();
        }
    }

    @Override
    public void resume() {
        boolean announceNow;
        synchronized (announceLock) {
            paused = false;
            announceNow = announceAtResume;
            announceAtResume = false;
        }
        Active a = active;
        if (a != null) {
            a.context().execute(this::kick);
        }
        if (announceNow) {
            announce();
        }
    }

    @Override
    public void close() {
        cancelAnnounce();
        active = null;
        backend.close();
    }

    /**
     * Announces the guest after a migration or loadvm completed (QEMU's self-announce): RARP frames from its MAC
     * and, when the driver negotiated GUEST_ANNOUNCE, the ANNOUNCE status bit with a configuration interrupt, in
     * rounds timed as QEMU's announce-initial/max/rounds/step defaults. Ends early at pause, reset or a new call.
     * Called while the device is paused (before the destination runs), it starts at {@link #resume}.
     */
    public void announce() {
        int generation;
        synchronized (announceLock) {
            cancelTimerLocked();
            generation = ++announceGeneration;
            if (paused) {
                announceAtResume = true;
                return;
            }
        }
        onDeviceThread(() -> announceRound(generation, announceParams.rounds()));
    }

    /** Runs on the I/O thread when active; before activation there is no queue to race with, so here. */
    private void onDeviceThread(Runnable task) {
        Active a = active;
        if (a != null) {
            a.context().execute(task);
        } else {
            task.run();
        }
    }

    private void announceRound(int generation, int left) {
        synchronized (announceLock) {
            if (generation != announceGeneration || left <= 0 || paused) {
                return;
            }
        }
        sendRarp();
        Active a = active;
        if (a != null && a.has(NetFeatures.GUEST_ANNOUNCE) && a.has(NetFeatures.CTRL_VQ)) {
            status |= STATUS_ANNOUNCE;
            a.context().configChanged();
        }
        int next = left - 1;
        if (next > 0) {
            synchronized (announceLock) {
                if (generation == announceGeneration) {
                    announceTimer = timer.schedule(() -> onDeviceThread(() -> announceRound(generation, next)),
                            announceParams.gapBefore(next));
                }
            }
        }
    }

    private void sendRarp() {
        byte[] frame = Announcer.rarp(mac);
        int h = backend.vnetHeaderLength();
        MemorySegment out = Arena.ofAuto().allocate(h + frame.length);
        MemorySegment.copy(frame, 0, out, ValueLayout.JAVA_BYTE, h, frame.length); // a zero header: no offload
        if (!backend.send(List.of(out))) {
            LOG.log(System.Logger.Level.DEBUG, "virtio-net {0}: announce frame not sent, backend busy", mac);
        }
    }

    private void cancelAnnounce() {
        synchronized (announceLock) {
            announceAtResume = false;
            announceGeneration++;
            cancelTimerLocked();
        }
    }

    private void cancelTimerLocked() {
        if (announceTimer != null) {
            announceTimer.cancel(false);
            announceTimer = null;
        }
    }

    private void applyOffloads() {
        Active a = active;
        if (a == null || backend.vnetHeaderLength() == 0) {
            return;
        }
        long on = a.features() & NetFeatures.GUEST_OFFLOADS;
        if (guestOffloads != -1) {
            on &= guestOffloads;
        }
        backend.setOffloads((on & NetFeatures.GUEST_CSUM) != 0, (on & NetFeatures.GUEST_TSO4) != 0,
                (on & NetFeatures.GUEST_TSO6) != 0, (on & NetFeatures.GUEST_ECN) != 0,
                (on & NetFeatures.GUEST_UFO) != 0);
    }

    private Active usable() {
        Active a = active;
        return a == null || paused || broken ? null : a;
    }

    private void fail(Active a, String reason) {
        broken = true;
        a.context().needsReset(reason);
    }

    /** Delivers the backlog until it is empty or the queue has no buffer. I/O thread. */
    private void drainRx() {
        drainQueued.set(false);
        Active a = usable();
        if (a == null) {
            return;
        }
        try {
            while (active == a) {
                byte[] frame;
                synchronized (rxLock) {
                    frame = backlog.peekFirst();
                }
                if (frame == null || a.rx().deliver(frame) == RxPath.Outcome.NO_BUFFER) {
                    break;
                }
                boolean resume;
                synchronized (rxLock) {
                    backlog.pollFirst();
                    resume = rxHeldBack && backlog.size() <= RX_BACKLOG / 2;
                    if (resume) {
                        rxHeldBack = false;
                    }
                }
                if (resume) {
                    backend.resumeReceive();
                }
            }
        } catch (VirtqueueException | DriverError | GuestMemoryException e) {
            fail(a, e.getMessage());
        } finally {
            if (a.rx().takePushed()) {
                a.rxRing().notifyDriver();
            }
        }
    }

    /** Sends what the driver made available, the chain the backend refused last time first. I/O thread. */
    private void flushTx() {
        Active a = usable();
        if (a == null) {
            return;
        }
        int done = 0;
        try {
            while (active == a && done < TX_BATCH) {
                DescriptorChain c = txPending != null ? txPending : a.txRing().pop();
                if (c == null) {
                    break;
                }
                if (!linkUp()) {
                    counters.txDropped.incrementAndGet();
                } else if (a.tx().transmit(c) == TxPath.Outcome.BLOCKED) {
                    txPending = c; // the backend calls writable() once it can take it
                    break;
                }
                txPending = null;
                a.txRing().push(c, 0);
                done++;
            }
            if (done == TX_BATCH) {
                a.context().execute(this::flushTx);
            }
        } catch (VirtqueueException | DriverError | GuestMemoryException e) {
            fail(a, e.getMessage());
        } finally {
            if (done > 0) {
                a.txRing().notifyDriver();
            }
        }
    }

    /** Runs the control commands the driver made available. I/O thread. */
    private void runControl() {
        Active a = usable();
        if (a == null) {
            return;
        }
        boolean pushed = false;
        try {
            DescriptorChain c;
            while (active == a && (c = a.ctrlRing().pop()) != null) {
                int written = a.control().handle(c);
                a.ctrlRing().push(c, written);
                pushed = true;
            }
        } catch (VirtqueueException | DriverError | GuestMemoryException e) {
            fail(a, e.getMessage());
        } finally {
            if (pushed) {
                a.ctrlRing().notifyDriver();
            }
        }
    }

    /** The backend's thread: see the class comment. */
    private final class BackendReceiver implements NetBackend.Receiver {
        @Override
        public boolean receive(MemorySegment frame) {
            Active a = active;
            if (a == null || !linkUp() || frame.byteSize() > MAX_RX_FRAME) {
                // No driver running, the link is down, or no such frame: the wire drops it.
                counters.rxDropped.incrementAndGet();
                return true;
            }
            synchronized (rxLock) {
                if (backlog.size() >= RX_BACKLOG) {
                    rxHeldBack = true;
                    return false;
                }
                backlog.addLast(frame.toArray(ValueLayout.JAVA_BYTE));
            }
            if (drainQueued.compareAndSet(false, true)) {
                a.context().execute(VirtioNet.this::drainRx);
            }
            return true;
        }

        @Override
        public void writable() {
            Active a = active;
            if (a != null) {
                a.context().execute(VirtioNet.this::flushTx);
            }
        }
    }

    /** What the control commands change. I/O thread. */
    private final class ControlTarget implements ControlCommands.Target {
        @Override
        public RxFilter filter() {
            return filter;
        }

        @Override
        public void setMac(MacAddress m) {
            mac = m;
        }

        @Override
        public void announceAcked() {
            status &= ~STATUS_ANNOUNCE;
        }

        @Override
        public boolean setGuestOffloads(long offloads) {
            Active a = active;
            if (a == null || (offloads & ~(a.features() & NetFeatures.GUEST_OFFLOADS)) != 0) {
                return false;
            }
            guestOffloads = offloads;
            applyOffloads();
            return true;
        }
    }

    @Override
    public RecordDescription<State> stateDescription() {
        return VMSTATE;
    }

    @Override
    public State state() {
        RxFilter f = filter;
        return new State(mac.bytes(), status, f.promisc, f.allmulti, f.alluni, f.nomulti, f.nouni, f.nobcast,
                f.tableBytes(), f.unicast.length, f.uniOverflow, f.multiOverflow, f.vlanBytes(), guestOffloads);
    }

    @Override
    public void restore(State s) {
        String invalid = s.invalid();
        if (invalid != null) {
            throw new IllegalArgumentException("virtio-net state: " + invalid);
        }
        mac = MacAddress.of(s.mac(), 0);
        status = s.status();
        RxFilter f = filter;
        f.promisc = s.promisc();
        f.allmulti = s.allmulti();
        f.alluni = s.alluni();
        f.nomulti = s.nomulti();
        f.nouni = s.nouni();
        f.nobcast = s.nobcast();
        f.setTable(s.macTable(), s.firstMulti());
        f.uniOverflow = s.uniOverflow();
        f.multiOverflow = s.multiOverflow();
        f.setVlans(s.vlans());
        guestOffloads = s.guestOffloads();
        applyOffloads();
    }

    private static boolean anySet(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return true;
            }
        }
        return false;
    }
}
