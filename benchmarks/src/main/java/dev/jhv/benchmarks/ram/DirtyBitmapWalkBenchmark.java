package dev.jhv.benchmarks.ram;

import dev.jhv.migration.stream.RamStateEntry;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Finding the set bits of the dirty bitmap of a 2 GiB guest (524288 pages, 8192 words, 64 KiB): the RAM sender's
 * walk ({@link RamStateEntry#nextSetBit}, one call per page) against a word loop and a loop that skips zero words
 * with Arrays.mismatch. Sparse: one page in 10000 (52); 1 %: 5243 pages at random; dense: every page (a first pass).
 * Each operation walks the whole bitmap and sums the page numbers.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class DirtyBitmapWalkBenchmark {
    private static final long PAGES = (2L << 30) / 4096;
    private static final long[] ZEROS = new long[(int) (PAGES / 64)];

    @Param({"sparse", "onePercent", "dense"})
    public String fill;

    private long[] bits;
    private long expected;

    @Setup(Level.Trial)
    public void setUp() {
        bits = new long[(int) (PAGES / 64)];
        var random = new SplittableRandom(42);
        switch (fill) {
            case "sparse" -> set(random, PAGES / 10_000);
            case "onePercent" -> set(random, PAGES / 100);
            case "dense" -> Arrays.fill(bits, -1L);
            default -> throw new IllegalArgumentException(fill);
        }
        expected = wordLoop();
        if (product() != expected || mismatchSkip() != expected) {
            throw new AssertionError("the walks disagree");
        }
    }

    private void set(SplittableRandom random, long count) {
        for (long n = 0; n < count; ) {
            long p = random.nextLong(PAGES);
            if ((bits[(int) (p >>> 6)] & (1L << p)) == 0) {
                bits[(int) (p >>> 6)] |= 1L << p;
                n++;
            }
        }
    }

    /** The sender's walk: the next set bit from the last page + 1. */
    @Benchmark
    public long product() {
        long sum = 0;
        for (long p = RamStateEntry.nextSetBit(bits, 0, PAGES); p >= 0; p = RamStateEntry.nextSetBit(bits, p + 1, PAGES)) {
            sum += p;
        }
        return sum;
    }

    /** Word by word, each set bit by numberOfTrailingZeros, clearing the lowest. */
    @Benchmark
    public long wordLoop() {
        long sum = 0;
        for (int w = 0; w < bits.length; w++) {
            long word = bits[w];
            while (word != 0) {
                sum += ((long) w << 6) + Long.numberOfTrailingZeros(word);
                word &= word - 1;
            }
        }
        return sum;
    }

    /** The word loop, jumping over runs of zero words with Arrays.mismatch (vectorized). */
    @Benchmark
    public long mismatchSkip() {
        long sum = 0;
        int w = 0;
        while (w < bits.length) {
            int skip = Arrays.mismatch(bits, w, bits.length, ZEROS, 0, bits.length - w);
            if (skip < 0) {
                break;
            }
            w += skip;
            long word = bits[w];
            while (word != 0) {
                sum += ((long) w << 6) + Long.numberOfTrailingZeros(word);
                word &= word - 1;
            }
            w++;
        }
        return sum;
    }
}
