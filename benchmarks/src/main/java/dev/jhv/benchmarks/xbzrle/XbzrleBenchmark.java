package dev.jhv.benchmarks.xbzrle;

import dev.jhv.migration.xbzrle.XbzrleCodec;
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
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * XBZRLE encode and decode of one 4 KiB page per operation (GB/s = 4096 / ns per operation), on the changes a
 * guest makes: {@code words8} is testos's words=8 rewrite (the pass word and the 8 words after it, 72 bytes in a
 * row), {@code scattered8} eight 8-byte words at random places, {@code dense} every byte (the encoder stops at the
 * overflow cut). The previous versions sit in native memory like the source's cache, the current ones in a heap
 * copy like the sender's; 16384 pages (64 MiB each) come from memory, as a pass does, 256 stay in the caches.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class XbzrleBenchmark {
    private static final int PAGE = 4096;

    @Param({"words8", "scattered8", "dense"})
    public String change;

    @Param({"256", "16384"})
    public int pages;

    private MemorySegment prev;
    private MemorySegment cur;
    private MemorySegment target;
    private byte[][] encoded;
    private int[] encodedLength;
    private final byte[] out = new byte[PAGE];
    private int cursor;

    @Setup
    public void setUp() {
        long bytes = (long) pages * PAGE;
        prev = Arena.ofAuto().allocate(bytes, PAGE);
        cur = MemorySegment.ofArray(new byte[(int) bytes]);
        target = Arena.ofAuto().allocate(bytes, PAGE);
        Random r = new Random(1);
        for (long i = 0; i < bytes; i += 8) {
            prev.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
        }
        MemorySegment.copy(prev, 0, cur, 0, bytes);
        encoded = new byte[pages][];
        encodedLength = new int[pages];
        for (int p = 0; p < pages; p++) {
            long base = (long) p * PAGE;
            switch (change) {
                case "words8" -> {
                    for (int w = 2; w < 11; w++) {
                        cur.set(ValueLayout.JAVA_LONG_UNALIGNED, base + 8L * w, r.nextLong());
                    }
                }
                case "scattered8" -> {
                    for (int k = 0; k < 8; k++) {
                        cur.set(ValueLayout.JAVA_LONG_UNALIGNED, base + 8L * r.nextInt(512), r.nextLong());
                    }
                }
                default -> {
                    for (int i = 0; i < PAGE; i += 8) {
                        long old = prev.get(ValueLayout.JAVA_LONG_UNALIGNED, base + i);
                        cur.set(ValueLayout.JAVA_LONG_UNALIGNED, base + i, ~old);
                    }
                }
            }
            byte[] e = new byte[PAGE];
            encodedLength[p] = Math.max(0, XbzrleCodec.encode(prev, base, cur, base, PAGE, e, PAGE));
            encoded[p] = e;
        }
        MemorySegment.copy(prev, 0, target, 0, bytes);
    }

    private int next() {
        int p = cursor;
        cursor = (cursor + 1) & (pages - 1);
        return p;
    }

    @Benchmark
    public int encode() {
        long base = (long) next() * PAGE;
        return XbzrleCodec.encode(prev, base, cur, base, PAGE, out, PAGE);
    }

    /** Applies the page's encoding to its previous version (applying it again changes nothing: same work). */
    @Benchmark
    public MemorySegment decode() {
        int p = next();
        XbzrleCodec.decode(encoded[p], 0, encodedLength[p], target, (long) p * PAGE, PAGE);
        return target;
    }
}
