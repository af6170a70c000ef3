package dev.jhv.benchmarks.virtio;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.Virtqueue;
import dev.jhv.virtio.queue.VirtqueueException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One request through a split virtqueue as a device sees it: pop (the walk with every check), push, and the
 * interrupt decision, for chains shaped like virtio-blk's (header, data, status: 3 descriptors), a 1 MiB request in
 * 4 KiB pages (258 descriptors, through an indirect table), and a single buffer (virtio-rng). The driver's side
 * (making the chain available again) is a few stores per operation.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class VirtqueueWalkBenchmark {
    private static final int SIZE = 256;
    private static final long DESC = 0x10000;
    private static final long AVAIL = 0x20000;
    private static final long USED = 0x30000;
    private static final long TABLE = 0x40000;
    private static final long DATA = 0x100000;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    @Param({"single", "blk3", "indirect258"})
    public String chain;

    private Arena arena;
    private MemorySegment ram;
    private GuestMemory memory;
    private Virtqueue queue;
    private int availIdx;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        ram = arena.allocate(8L << 20, 4096);
        memory = new GuestMemory(List.of(new GuestMemory.Region(0, ram)));
        queue = new Virtqueue(0, SIZE);
        queue.configure(SIZE, DESC, AVAIL, USED, true);
        queue.setFeatures(true, true);
        switch (chain) {
            case "single" -> desc(DESC, 0, DATA, 4096, 2, 0);
            case "blk3" -> {
                desc(DESC, 0, DATA, 16, 1, 1);
                desc(DESC, 1, DATA + 4096, 4096, 3, 2);
                desc(DESC, 2, DATA + 8192, 1, 2, 0);
            }
            case "indirect258" -> {
                desc(TABLE, 0, DATA, 16, 1, 1);
                for (int i = 1; i <= 256; i++) {
                    desc(TABLE, i, DATA + 4096L * i, 4096, 3, i + 1);
                }
                desc(TABLE, 257, DATA, 1, 2, 0);
                desc(DESC, 0, TABLE, 258 * 16, 4, 0);
            }
            default -> throw new IllegalArgumentException(chain);
        }
    }

    private void desc(long table, int i, long addr, int len, int flags, int next) {
        long at = table + 16L * i;
        ram.set(U64, at, addr);
        ram.set(U32, at + 8, len);
        ram.set(U16, at + 12, (short) flags);
        ram.set(U16, at + 14, (short) next);
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public boolean popPushSignal() throws VirtqueueException {
        ram.set(U16, AVAIL + 4 + 2L * (availIdx & (SIZE - 1)), (short) 0);
        availIdx = (availIdx + 1) & 0xffff;
        ram.set(U16, AVAIL + 2, (short) availIdx);
        DescriptorChain c = queue.pop(memory);
        queue.push(memory, c, 1);
        return queue.needsInterrupt(memory);
    }
}
