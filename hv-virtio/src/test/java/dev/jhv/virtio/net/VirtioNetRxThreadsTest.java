package dev.jhv.virtio.net;

import dev.jhv.virtio.queue.DescriptorChain;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.jhv.virtio.net.NetBench.MAC;
import static dev.jhv.virtio.net.NetBench.frame;
import static dev.jhv.virtio.net.NetBench.native_;
import static org.assertj.core.api.Assertions.assertThat;

/** The hand-off of received frames from a backend thread to the device's I/O thread, under back-pressure. */
class VirtioNetRxThreadsTest {
    static final int FRAMES = 1000;
    static final int ROUND = 50;

    final ExecutorService io = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-virtio-net-io"));

    @AfterEach
    void stop() {
        io.shutdownNow();
    }

    @Test
    void everyFrameArrivesOnceAndInOrderWhileTheGuestPostsBuffersInRounds() throws Exception {
        var b = new NetBench(0);
        b.context.executor = io;
        io.submit(() -> b.activate(NetBench.MODERN)).get(10, TimeUnit.SECONDS);
        var pushed = new AtomicInteger();
        var roundDone = new AtomicReference<>(new CountDownLatch(ROUND));
        b.rx().onPush = () -> {
            pushed.incrementAndGet();
            roundDone.get().countDown();
        };

        var failure = new AtomicReference<Throwable>();
        Thread wire = new Thread(() -> {
            try {
                for (int i = 0; i < FRAMES; i++) {
                    byte[] f = frame(MAC, 60);
                    f[20] = (byte) i;
                    f[21] = (byte) (i >>> 8);
                    while (!b.backend.receiver.receive(native_(f))) {
                        if (!b.backend.resumed.tryAcquire(10, TimeUnit.SECONDS)) {
                            throw new AssertionError("no resumeReceive after a refused frame");
                        }
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "test-backend");
        wire.start();

        List<DescriptorChain> buffers = new ArrayList<>();
        for (int posted = 0; posted < FRAMES; posted += ROUND) {
            var latch = new CountDownLatch(ROUND);
            roundDone.set(latch);
            var round = new ArrayList<DescriptorChain>();
            for (int i = 0; i < ROUND; i++) {
                round.add(b.chain(List.of(), List.of(b.room(1526))));
            }
            buffers.addAll(round);
            io.execute(() -> {
                b.rx().avail.addAll(round);
                b.net.queueNotified(VirtioNet.RX_QUEUE);
            });
            assertThat(latch.await(10, TimeUnit.SECONDS)).as("round from buffer " + posted + " filled").isTrue();
        }
        wire.join(10_000);
        assertThat(failure.get()).isNull();
        assertThat(wire.isAlive()).isFalse();

        assertThat(pushed.get()).isEqualTo(FRAMES);
        for (int i = 0; i < FRAMES; i++) {
            byte[] got = b.written(buffers.get(i), 12 + 60);
            assertThat((got[12 + 20] & 0xff) | (got[12 + 21] & 0xff) << 8).as("frame " + i).isEqualTo(i);
        }
        assertThat(b.backend.resumes).as("the backlog filled and drained").isPositive();
    }
}
