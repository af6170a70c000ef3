package dev.jhv.virtio.blk;

import dev.jhv.core.block.Drive;
import dev.jhv.core.block.RawFileBlockDevice;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.devices.board.DriveSpec;
import dev.jhv.virtio.device.VirtioContext;
import dev.jhv.virtio.queue.GuestBuffer;
import dev.jhv.virtio.queue.Virtqueue;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/** The device end to end on a real split ring: notify, requests in flight, pushes, interrupts, pause, a reset. */
class VirtioBlkQueueTest {
    private static final int SIZE = 64;
    private static final long DESC = 0xF0000;
    private static final long AVAIL = 0xF2000;
    private static final long USED = 0xF3000;
    private static final int NEXT = 1;
    private static final int WRITE = 2;

    @TempDir
    Path dir;

    private final GuestRig g = new GuestRig();
    private final ExecutorService ioThread = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-io"));
    private final Virtqueue queue = new Virtqueue(0, SIZE);
    private final List<Integer> interrupts = new CopyOnWriteArrayList<>();
    private final List<String> resets = new CopyOnWriteArrayList<>();
    private int nextDesc;
    private int availIdx;

    private final VirtioContext context = new VirtioContext() {
        @Override public GuestMemory memory() { return g.memory; }
        @Override public Virtqueue queue(int q) { return queue; }
        @Override public long features() { return VirtioBlk.F_FLUSH; }
        @Override public void usedBuffers(int q) { interrupts.add(q); }
        @Override public void configChanged() { }
        @Override public void needsReset(String reason) { resets.add(reason); }
        @Override public void execute(Runnable task) { ioThread.execute(task); }
    };

    @AfterEach
    void close() throws Exception {
        ioThread.shutdown();
        ioThread.awaitTermination(30, TimeUnit.SECONDS);
        g.close();
    }

    /** Writes a chain of {@code buffers} (the writable ones flagged) into the table and makes it available. */
    private void offer(List<GuestBuffer> readable, List<GuestBuffer> writable) {
        int head = nextDesc;
        var all = new java.util.ArrayList<GuestBuffer>(readable);
        all.addAll(writable);
        for (int i = 0; i < all.size(); i++) {
            int d = nextDesc++;
            long at = DESC + 16L * d;
            int flags = (i < all.size() - 1 ? NEXT : 0) | (i >= readable.size() ? WRITE : 0);
            g.memory.writeLong(at, all.get(i).gpa());
            g.memory.writeInt(at + 8, all.get(i).length());
            g.memory.writeShort(at + 12, flags);
            g.memory.writeShort(at + 14, d + 1);
        }
        g.memory.writeShort(AVAIL + 4 + 2L * (availIdx % SIZE), head);
        availIdx++;
        g.memory.writeShort(AVAIL + 2, availIdx);
    }

    private int usedIdx() {
        return g.memory.readShort(USED + 2) & 0xffff;
    }

    @Test
    void requestsRunInFlightAndPauseReturnsWhenEveryOneWasPushed() throws Exception {
        Path p = dir.resolve("disk.img");
        Files.write(p, new byte[1 << 20]);
        var dev = new RawFileBlockDevice(p, false);
        var blk = new VirtioBlk(new Drive("virtio0", p, "raw", false, dev), "S", 1, DriveSpec.Cache.WRITEBACK);
        try {
            queue.configure(SIZE, DESC, AVAIL, USED, true);
            blk.activate(context, VirtioBlk.F_FLUSH);
            var statuses = new java.util.ArrayList<GuestBuffer>();
            for (int i = 0; i < 20; i++) {
                GuestBuffer data = g.buffer(4096);
                g.fill(data, i + 1);
                GuestBuffer status = g.buffer(1);
                g.memory.writeByte(status.gpa(), 0xff);
                statuses.add(status);
                offer(List.of(g.header(BlkRequest.T_OUT, i * 8L), data), List.of(status));
            }
            ioThread.submit(() -> blk.queueNotified(0)).get(30, TimeUnit.SECONDS);
            blk.pause();
            assertThat(blk.inFlight()).isZero();
            assertThat(usedIdx()).isEqualTo(20);
            assertThat(statuses).allMatch(s -> g.memory.readByte(s.gpa()) == BlkRequest.S_OK);
            assertThat(interrupts).isNotEmpty().containsOnly(0);
            assertThat(resets).isEmpty();
            blk.resume();
            byte[] file = Files.readAllBytes(p);
            for (int i = 0; i < 20; i++) {
                assertThat(file[i * 4096]).isEqualTo((byte) (i + 1));
            }
            // a chain with no status byte: the device asks for a reset, and takes no more
            offer(List.of(g.header(BlkRequest.T_IN, 0)), List.of());
            ioThread.submit(() -> blk.queueNotified(0)).get(30, TimeUnit.SECONDS);
            assertThat(resets).singleElement().asString().contains("status");
            blk.reset();
            assertThat(blk.inFlight()).isZero();
        } finally {
            blk.close();
            dev.close();
        }
    }
}
