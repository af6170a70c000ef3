package dev.jhv.virtio.net;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.core.net.NetBackend;
import dev.jhv.virtio.device.VirtioContext;
import dev.jhv.virtio.device.VirtioFeatures;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.GuestBuffer;
import dev.jhv.virtio.queue.Virtqueue;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

/**
 * A virtio-net over hand-built chains: 4 MiB of guest RAM over an Arena segment, rings that hand out the chains a
 * test queued, a context that runs tasks at once, and a backend that records frames.
 */
final class NetBench {
    static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");
    static final long MODERN = VirtioFeatures.VERSION_1 | NetFeatures.MRG_RXBUF | NetFeatures.CTRL_VQ
            | NetFeatures.CTRL_RX | NetFeatures.CTRL_RX_EXTRA | NetFeatures.CTRL_VLAN | NetFeatures.CTRL_MAC_ADDR
            | NetFeatures.GUEST_ANNOUNCE | NetFeatures.STATUS | NetFeatures.MAC | NetFeatures.CTRL_GUEST_OFFLOADS;

    final GuestMemory memory = new GuestMemory(List.of(new GuestMemory.Region(0, Arena.ofAuto().allocate(4 << 20))));
    private long next = 0x1000;
    private int heads;
    final FakeRing[] rings = {new FakeRing(), new FakeRing(), new FakeRing()};
    final FakeContext context = new FakeContext();
    final FakeBackend backend;
    final ManualTimer timer = new ManualTimer();
    final VirtioNet net;

    NetBench(int vnetHeader) {
        backend = new FakeBackend(vnetHeader);
        net = new VirtioNet(backend, MAC, Announcer.Params.QEMU, timer);
    }

    NetBench activate(long features) {
        context.features = features;
        net.activate(context, features, q -> rings[q]);
        return this;
    }

    FakeRing rx() {
        return rings[VirtioNet.RX_QUEUE];
    }

    FakeRing tx() {
        return rings[VirtioNet.TX_QUEUE];
    }

    FakeRing ctrl() {
        return rings[VirtioNet.CTRL_QUEUE];
    }

    /** A buffer in guest RAM holding {@code data}. */
    GuestBuffer put(byte[] data) {
        GuestBuffer b = new GuestBuffer(next, data.length);
        memory.write(next, data);
        next += (data.length + 15) & ~15;
        return b;
    }

    /** An empty buffer of {@code length} bytes. */
    GuestBuffer room(int length) {
        return put(new byte[length]);
    }

    DescriptorChain chain(List<GuestBuffer> readable, List<GuestBuffer> writable) {
        return new DescriptorChain(heads++, readable, writable);
    }

    /** What the device wrote into the writable part of {@code c}, {@code length} bytes. */
    byte[] written(DescriptorChain c, int length) {
        byte[] out = new byte[length];
        ChainIo.read(memory, c.writable(), 0, out, 0, length);
        return out;
    }

    /** A control request: class, command, data; one ack byte. */
    DescriptorChain command(int cls, int cmd, byte... data) {
        return chain(List.of(put(new byte[] {(byte) cls, (byte) cmd}), put(data)), List.of(room(1)));
    }

    /** Runs a control request and returns its ack. */
    int run(int cls, int cmd, byte... data) {
        DescriptorChain c = command(cls, cmd, data);
        ctrl().avail.add(c);
        net.queueNotified(VirtioNet.CTRL_QUEUE);
        return written(c, 1)[0];
    }

    /** A frame to {@code dst} from 52:54:00:aa:bb:cc, IPv4 ethertype, {@code length} bytes in all. */
    static byte[] frame(MacAddress dst, int length) {
        byte[] f = new byte[length];
        dst.put(f, 0);
        MacAddress.parse("52:54:00:aa:bb:cc").put(f, 6);
        f[12] = 0x08;
        for (int i = 14; i < length; i++) {
            f[i] = (byte) i;
        }
        return f;
    }

    static MemorySegment native_(byte[] b) {
        MemorySegment s = Arena.ofAuto().allocate(Math.max(1, b.length));
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, 0, b.length);
        return s.asSlice(0, b.length);
    }

    static byte[] concat(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    record Used(DescriptorChain chain, int written) { }

    static final class FakeRing implements Ring {
        final ArrayDeque<DescriptorChain> avail = new ArrayDeque<>();
        final List<Used> used = new ArrayList<>();
        int interrupts;
        Runnable onPush = () -> { };

        @Override
        public DescriptorChain pop() {
            return avail.pollFirst();
        }

        @Override
        public void push(DescriptorChain chain, int written) {
            used.add(new Used(chain, written));
            onPush.run();
        }

        @Override
        public void notifyDriver() {
            interrupts++;
        }
    }

    final class FakeContext implements VirtioContext {
        long features;
        int configChanges;
        final List<String> resets = new ArrayList<>();
        /** The device's I/O thread: the caller's by default. */
        java.util.concurrent.Executor executor = Runnable::run;

        @Override
        public GuestMemory memory() {
            return memory;
        }

        @Override
        public Virtqueue queue(int q) {
            throw new AssertionError("the test rings stand in for the queues");
        }

        @Override
        public long features() {
            return features;
        }

        @Override
        public void usedBuffers(int q) {
            throw new AssertionError("the test rings count interrupts");
        }

        @Override
        public void configChanged() {
            configChanges++;
        }

        @Override
        public void needsReset(String reason) {
            resets.add(reason);
        }

        @Override
        public void execute(Runnable task) {
            executor.execute(task);
        }
    }

    static final class FakeBackend implements NetBackend {
        final int vnetHeader;
        final List<byte[]> sent = new ArrayList<>();
        boolean accept = true;
        Receiver receiver;
        volatile int resumes;
        final java.util.concurrent.Semaphore resumed = new java.util.concurrent.Semaphore(0);
        boolean[] offloads;

        FakeBackend(int vnetHeader) {
            this.vnetHeader = vnetHeader;
        }

        @Override
        public String id() {
            return "net0";
        }

        @Override
        public int vnetHeaderLength() {
            return vnetHeader;
        }

        @Override
        public void setOffloads(boolean csum, boolean tso4, boolean tso6, boolean ecn, boolean ufo) {
            offloads = new boolean[] {csum, tso4, tso6, ecn, ufo};
        }

        @Override
        public boolean send(List<MemorySegment> parts) {
            if (!accept) {
                return false;
            }
            var out = new ByteArrayOutputStream();
            for (MemorySegment p : parts) {
                if (!p.isNative()) {
                    throw new AssertionError("a backend's writev needs native segments");
                }
                out.writeBytes(p.toArray(ValueLayout.JAVA_BYTE));
            }
            sent.add(out.toByteArray());
            return true;
        }

        @Override
        public void start(Receiver r) {
            if (receiver != null) {
                throw new AssertionError("started twice");
            }
            receiver = r;
        }

        @Override
        public void resumeReceive() {
            resumes++;
            resumed.release();
        }

        @Override
        public String info() {
            return "net0: index=0,type=fake";
        }

        @Override
        public void close() {
        }
    }

    /** Keeps scheduled tasks until the test runs them. */
    static final class ManualTimer implements Announcer.Timer {
        record Task(Runnable task, long delay, CompletableFuture<Void> future) { }

        final List<Task> tasks = new ArrayList<>();

        @Override
        public Future<?> schedule(Runnable task, long delayMillis) {
            var t = new Task(task, delayMillis, new CompletableFuture<>());
            tasks.add(t);
            return t.future();
        }

        /** Runs the oldest task not cancelled; false when none is left. */
        boolean runNext() {
            while (!tasks.isEmpty()) {
                Task t = tasks.removeFirst();
                if (!t.future().isCancelled()) {
                    t.task().run();
                    return true;
                }
            }
            return false;
        }
    }
}
