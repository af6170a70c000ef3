package dev.jhv.migration.postcopy;

import dev.jhv.core.memory.RamAllocator;
import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateOutput;
import dev.jhv.migration.control.MigrationParameters;
import dev.jhv.migration.stream.RamBlock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Postcopy's page protocol without a guest: which pages a source sends and in what order (requests first), and a
 * destination whose reader of a missing page waits on the userfaultfd until the page it asked for arrives.
 */
class PostcopyProtocolTest {
    private static final long PAGE = 4096;
    private static final int PAGES = 64;
    private final List<MemorySegment> mapped = new ArrayList<>();

    private MemorySegment ram() {
        MemorySegment m = RamAllocator.map(PAGES * PAGE);
        mapped.add(m);
        return m;
    }

    @AfterEach
    void unmap() {
        mapped.forEach(RamAllocator::unmap);
    }

    private static long[][] all() {
        return new long[][] {{-1L}};
    }

    /** Page i holds i + 1 in its first word, except every 8th page, which is zero. */
    private MemorySegment sourceRam() {
        MemorySegment m = ram();
        for (int i = 0; i < PAGES; i++) {
            if (i % 8 != 0) {
                m.set(JAVA_LONG, i * PAGE, i + 1);
            }
        }
        return m;
    }

    private static List<Long> offsetsOf(byte[] stream, List<RamBlock> blocks) {
        var records = new PageRecords(blocks);
        var in = new VMStateInput(stream);
        List<Long> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment page = a.allocate(PAGE);
            for (var r = records.read(in, page); !r.end(); r = records.read(in, page)) {
                out.add(r.offset() / PAGE);
            }
        }
        return out;
    }

    @Test
    void aRequestedPageGoesFirstAndThePushGoesOnFromThere() {
        var blocks = List.of(new RamBlock("pc.ram", sourceRam()));
        var src = new PostcopySource(blocks, all());
        src.request(0, 40 * PAGE, PAGE);
        var bytes = new ByteArrayOutputStream();
        src.push(new VMStateOutput(bytes), () -> { });
        List<Long> order = offsetsOf(bytes.toByteArray(), blocks);
        assertThat(order).hasSize(PAGES).doesNotHaveDuplicates();
        assertThat(order.subList(0, 3)).containsExactly(40L, 41L, 42L);
        assertThat(order.get(PAGES - 40)).isZero(); // wrapped round to the start after the last page
        assertThat(src.requests()).isEqualTo(1);
        assertThat(src.remainingPages()).isZero();
    }

    @Test
    void afterARecoveryOnlyWhatTheDestinationLacksIsSentAgain() {
        var blocks = List.of(new RamBlock("pc.ram", sourceRam()));
        var src = new PostcopySource(blocks, all());
        src.resume(new long[][] {{0xffff_ffff_0000_0000L | 0xfffffff0L}});
        var bytes = new ByteArrayOutputStream();
        src.push(new VMStateOutput(bytes), () -> { });
        assertThat(offsetsOf(bytes.toByteArray(), blocks)).containsExactly(0L, 1L, 2L, 3L);
    }

    @Test
    void theListenCommandCarriesTheMissingPagesAsRuns() {
        long[][] missing = {{0b1110_0110L | (1L << 63)}};
        var out = new VMStateOutput();
        PageRuns.write(out, missing, new long[] {PAGES});
        assertThat(PageRuns.read(new VMStateInput(out.toByteArray()), new long[] {PAGES})).isDeepEqualTo(missing);
        var bad = new VMStateOutput();
        bad.u32(1);
        bad.u64(60);
        bad.u64(5);
        assertThatThrownBy(() -> PageRuns.read(new VMStateInput(bad.toByteArray()), new long[] {PAGES}))
                .hasMessageContaining("does not fit RAM block 0");
    }

    @Test
    void aReaderOfAMissingPageWaitsUntilThePageItAskedForArrives() throws Exception {
        MemorySegment from = sourceRam();
        MemorySegment to = ram();
        // precopy brought pages 0..31 over; 8..15 were dirtied since, 32..63 never went
        MemorySegment.copy(from, 0, to, 0, 32 * PAGE);
        for (int i = 8; i < 16; i++) {
            to.set(JAVA_LONG, i * PAGE, 0xdead);
        }
        long[][] pending = {{0xffff_ffff_0000_ff00L}};
        var srcBlocks = List.of(new RamBlock("pc.ram", from));
        var src = new PostcopySource(srcBlocks, pending);
        var listen = new VMStateOutput();
        src.writeListen(listen);

        var dst = new PostcopyDestination(List.of(new RamBlock("pc.ram", to)), (b, off, len) -> src.request(b, off,
                len));
        try {
            dst.listen(new VMStateInput(listen.toByteArray()));
            assertThat(dst.missingPages()).isEqualTo(40);
            // the guest touches a page still on the source: it waits, its fault asks for it
            // threads of their own: the common pool may have one thread, which the waiting reader would hold
            var threads = java.util.concurrent.Executors.newThreadPerTaskExecutor(Thread.ofPlatform().factory());
            var reader = CompletableFuture.supplyAsync(() -> to.get(JAVA_LONG, 50 * PAGE), threads);
            var pipeIn = new PipedInputStream(1 << 20);
            var pipeOut = new PipedOutputStream(pipeIn);
            var receiver = CompletableFuture.runAsync(() -> dst.receive(new VMStateInput(pipeIn)), threads);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (src.requests() == 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(src.requests()).isEqualTo(1);
            assertThat(reader).isNotDone();
            src.push(new VMStateOutput(pipeOut), () -> { });
            pipeOut.close();
            receiver.get(10, TimeUnit.SECONDS);
            assertThat(reader.get(10, TimeUnit.SECONDS)).isEqualTo(51);
            for (int i = 0; i < PAGES; i++) {
                assertThat(to.get(JAVA_LONG, i * PAGE)).as("page %d", i).isEqualTo(from.get(JAVA_LONG, i * PAGE));
            }
            var stats = dst.stats();
            assertThat(stats.pagesRequested()).isEqualTo(1);
            assertThat(stats.pagesPlaced()).isEqualTo(40);
            assertThat(stats.latencySamples()).isEqualTo(1);
            assertThat(dst.missingPages()).isZero();
        } finally {
            dst.close();
        }
    }

    @Test
    void theAutomaticSwitchWaitsForAMeasuredPassThatCannotConverge() {
        var on = MigrationParameters.DEFAULTS.with("x-postcopy-auto", "on");
        long second = 1_000_000_000L;
        long bw = 100L << 20;
        long dirtiedAtBandwidth = bw / 4096;
        assertThat(PostcopyPolicy.switchNow(on, true, 2, dirtiedAtBandwidth, second, bw)).isTrue();
        assertThat(PostcopyPolicy.switchNow(on, true, 2, dirtiedAtBandwidth / 2, second, bw)).isFalse();
        assertThat(PostcopyPolicy.switchNow(on, true, 1, dirtiedAtBandwidth, second, bw)).isFalse();
        assertThat(PostcopyPolicy.switchNow(on, false, 2, dirtiedAtBandwidth, second, bw)).isFalse();
        assertThat(PostcopyPolicy.switchNow(MigrationParameters.DEFAULTS, true, 2, dirtiedAtBandwidth, second, bw))
                .isFalse();
    }
}
