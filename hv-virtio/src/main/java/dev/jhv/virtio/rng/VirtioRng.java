package dev.jhv.virtio.rng;

import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.virtio.device.VirtioContext;
import dev.jhv.virtio.device.VirtioDevice;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.Virtqueue;
import dev.jhv.virtio.queue.VirtqueueException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.SecureRandom;

/**
 * virtio-rng (virtio 1.2, 5.4): one request queue whose device-writable buffers are filled with random bytes from
 * the host (SecureRandom's non-blocking source, getrandom underneath on Linux), as fast as the driver asks. No
 * configuration space and no state of its own.
 */
public final class VirtioRng implements VirtioDevice<VirtioDevice.NoState> {
    public static final int DEVICE_TYPE = 4;
    static final int QUEUE_SIZE = 8;
    /** The most one request is given: more is not wanted by any driver, and it bounds the work per request. */
    static final int MAX_REQUEST = 64 * 1024;

    private static final RecordDescription<NoState> VMSTATE =
            RecordDescription.part(NoState.class, "virtio-rng-device", 1).build();

    private final SecureRandom random;
    private volatile VirtioContext context;

    public VirtioRng() {
        this(new SecureRandom());
    }

    VirtioRng(SecureRandom random) {
        this.random = random;
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public String name() {
        return "virtio-rng";
    }

    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public int queueCount() {
        return 1;
    }

    @Override
    public int queueMaxSize(int q) {
        return QUEUE_SIZE;
    }

    @Override
    public int configLength() {
        return 0;
    }

    @Override
    public int readConfig(int offset, int size) {
        return 0;
    }

    @Override
    public void activate(VirtioContext context, long features) {
        this.context = context;
    }

    @Override
    public void queueNotified(int q) {
        VirtioContext c = context;
        if (c == null) {
            return;
        }
        Virtqueue vq = c.queue(0);
        boolean pushed = false;
        try {
            for (DescriptorChain chain; (chain = vq.pop(c.memory())) != null; ) {
                vq.push(c.memory(), chain, fill(c, chain));
                pushed = true;
            }
        } catch (VirtqueueException e) {
            c.needsReset(e.getMessage());
        }
        if (pushed) {
            c.usedBuffers(0);
        }
    }

    private int fill(VirtioContext c, DescriptorChain chain) {
        int left = MAX_REQUEST;
        int written = 0;
        byte[] bytes = new byte[Math.min(left, (int) Math.min(chain.writableLength(), MAX_REQUEST))];
        random.nextBytes(bytes);
        for (MemorySegment s : chain.writableSlices(c.memory())) {
            int n = (int) Math.min(s.byteSize(), bytes.length - written);
            MemorySegment.copy(bytes, written, s, ValueLayout.JAVA_BYTE, 0, n);
            written += n;
            if (written == bytes.length) {
                break;
            }
        }
        return written; // push marks these bytes written for migration
    }

    @Override
    public void reset() {
        context = null;
    }

    @Override
    public RecordDescription<NoState> stateDescription() {
        return VMSTATE;
    }

    @Override
    public NoState state() {
        return new NoState();
    }

    @Override
    public void restore(NoState state) {
    }
}
