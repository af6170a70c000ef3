package dev.jhv.benchmarks.ram;

import dev.jhv.core.memory.RamAllocator;
import dev.jhv.migration.stream.RamSectionWriter;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * The zero-page check the RAM sender runs on every page it sends ({@link RamSectionWriter#isZeroPage}), against
 * the scalar scan it had before, MemorySegment.mismatch and the Vector API, per 4 KiB page of mmap'd RAM like a guest's: all zero (the whole page is read), non-zero in
 * its first bytes (an early exit pays), and non-zero only in its last byte (the whole page is read, then it is
 * not zero). One page per operation. 256 pages stay in the L2/L3 caches; 16384 (64 MiB) come from memory, as a pass over RAM does.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class ZeroPageScanBenchmark {
    private static final int PAGE = 4096;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final MemorySegment ZERO_PAGE = Arena.global().allocate(PAGE, 64);
    private static final VectorSpecies<Long> SPECIES = LongVector.SPECIES_PREFERRED;

    @Param({"zero", "nonZeroAtStart", "nonZeroAtEnd"})
    public String content;

    @Param({"256", "16384"})
    public int pages;

    private MemorySegment ram;
    private long cursor;

    /** One page per operation, each in turn: the cache holds what {@code pages} lets it hold, as in a pass. */
    private long nextPage() {
        long off = cursor;
        cursor = (cursor + PAGE) & ((long) pages * PAGE - 1);
        return off;
    }

    @Setup(Level.Trial)
    public void setUp() {
        if (Integer.bitCount(pages) != 1) {
            throw new IllegalArgumentException("pages must be a power of two");
        }
        ram = RamAllocator.map((long) pages * PAGE);
        ram.fill((byte) 0); // real pages, not the kernel's shared zero page
        for (long p = 0; p < pages; p++) {
            switch (content) {
                case "zero" -> { }
                case "nonZeroAtStart" -> ram.set(ValueLayout.JAVA_BYTE, p * PAGE + 3, (byte) 1);
                case "nonZeroAtEnd" -> ram.set(ValueLayout.JAVA_BYTE, p * PAGE + PAGE - 1, (byte) 1);
                default -> throw new IllegalArgumentException(content);
            }
        }
        boolean zero = content.equals("zero");
        for (long p = 0; p < pages; p++) {
            long off = p * PAGE;
            if (RamSectionWriter.isZeroPage(ram, off) != zero || orEveryKib(ram, off) != zero
                    || mismatch(ram, off) != zero || vector(ram, off) != zero) {
                throw new AssertionError("a scan is wrong at page " + p + " (" + content + ")");
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        RamAllocator.unmap(ram);
    }

    /** What the sender runs: its first 64 bytes, then an OR over longs checked every 1 KiB. */
    @Benchmark
    public boolean product() {
        return RamSectionWriter.isZeroPage(ram, nextPage());
    }

    /** The scalar scan the sender ran before: an OR over longs, checked every 1 KiB (the reference). */
    @Benchmark
    public boolean scalarOrEveryKib() {
        return orEveryKib(ram, nextPage());
    }

    /** MemorySegment.mismatch against a page of zeros (the JDK's vectorized compare; exits at the first non-zero). */
    @Benchmark
    public boolean mismatchAgainstZeroPage() {
        return mismatch(ram, nextPage());
    }

    /** The Vector API (incubator: jhv itself does not use it, its warning would land on every run's stderr). */
    @Benchmark
    public boolean vectorOrEveryKib() {
        return vector(ram, nextPage());
    }

    static boolean orEveryKib(MemorySegment seg, long offset) {
        for (int chunk = 0; chunk < PAGE; chunk += 1024) {
            long acc = 0;
            long base = offset + chunk;
            for (int i = 0; i < 1024; i += 32) {
                acc |= seg.get(LONG, base + i) | seg.get(LONG, base + i + 8)
                        | seg.get(LONG, base + i + 16) | seg.get(LONG, base + i + 24);
            }
            if (acc != 0) {
                return false;
            }
        }
        return true;
    }

    static boolean mismatch(MemorySegment seg, long offset) {
        return MemorySegment.mismatch(seg, offset, offset + PAGE, ZERO_PAGE, 0, PAGE) < 0;
    }

    static boolean vector(MemorySegment seg, long offset) {
        int step = SPECIES.vectorByteSize();
        for (int chunk = 0; chunk < PAGE; chunk += 1024) {
            LongVector acc = LongVector.zero(SPECIES);
            for (int i = 0; i < 1024; i += step) {
                acc = acc.or(LongVector.fromMemorySegment(SPECIES, seg, offset + chunk + i, ByteOrder.nativeOrder()));
            }
            if (acc.reduceLanes(VectorOperators.OR) != 0) {
                return false;
            }
        }
        return true;
    }
}
