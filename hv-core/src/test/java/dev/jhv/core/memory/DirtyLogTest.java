package dev.jhv.core.memory;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.bus.IoBus;
import dev.jhv.core.bus.MmioBus;
import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.vcpu.RealModeGuest;
import dev.jhv.core.vcpu.Vcpu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * KVM's dirty log merged with the VMM's own writes: exactly the pages written, then nothing until written again;
 * and chunked clearing: a page stays reported until its chunk is cleared, and is reported again when written after.
 * Each test runs with KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (where KVM offers it) and without.
 */
@Tag("kvm")
class DirtyLogTest {
    /** 1 MiB and 3 pages: the last chunk is short, as KVM_CLEAR_DIRTY_LOG allows only at a slot's end. */
    private static final int PAGES = 259;
    /** Four full chunks and a short one in the test's RAM. */
    private static final int CHUNK = 64;

    /**
     * Real mode: reads a segment from port 0xf6 and writes a byte at its offset 0 (page = segment / 256), until a
     * read gives 0; then "out 0xf4" to say the batch is done, and reads the next batch.
     */
    private static final byte[] CODE = {
        (byte) 0xE5, (byte) 0xF6,                    // top: in ax, 0xf6
        (byte) 0x85, (byte) 0xC0,                    //      test ax, ax
        (byte) 0x74, 0x08,                           //      jz done
        (byte) 0x8E, (byte) 0xC0,                    //      mov es, ax
        0x26, (byte) 0xA2, 0x00, 0x00,               //      mov es:[0], al
        (byte) 0xEB, (byte) 0xF2,                    //      jmp top
        (byte) 0xE6, (byte) 0xF4,                    // done: out 0xf4, al
        (byte) 0xEB, (byte) 0xEE,                    //      jmp top
    };

    /** A VM with {@link #PAGES} of RAM at 0, its dirty log, and a guest that writes the pages it is told to. */
    private static final class Rig implements AutoCloseable {
        final Kvm kvm = Kvm.open();
        final KvmVm vm = kvm.createVm();
        final MemorySegment ram = RamAllocator.map(PAGES * 4096L);
        final GuestMemory mem;
        final DirtyLog log;
        final KvmVcpu kv;
        final Vcpu vcpu;
        private final LinkedBlockingQueue<Long> commands = new LinkedBlockingQueue<>();
        private final Semaphore batches = new Semaphore(0);
        private volatile boolean stopping;

        Rig(boolean manual) {
            vm.setTssAddr(KvmVm.TSS_ADDR);
            vm.setIdentityMapAddr(KvmVm.IDENTITY_MAP_ADDR);
            vm.createIrqchip();
            vm.setUserMemoryRegion(0, 0, 0, ram);
            MemorySegment.copy(CODE, 0, ram, ValueLayout.JAVA_BYTE, 0x1000, CODE.length);
            var region = new GuestMemory.Region(0, ram);
            mem = new GuestMemory(List.of(region));
            log = new DirtyLog(vm, mem, List.of(new DirtyLog.Slot(0, region)), manual, CHUNK);
            IoBus io = new IoBus();
            io.register(0xf4, 1, "done", new BusHandler() {
                @Override
                public long read(long offset, int size) {
                    return 0;
                }

                @Override
                public void write(long offset, int size, long value) {
                    batches.release();
                }
            });
            io.register(0xf6, 2, "command", new BusHandler() {
                @Override
                public long read(long offset, int size) {
                    try {
                        // the vCPU waits here between batches: the guest is still while the test looks
                        return stopping ? 0 : commands.take();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return 0;
                    }
                }

                @Override
                public void write(long offset, int size, long value) { }
            });
            kv = vm.createVcpu(0);
            RealModeGuest.enterAt(kv, 0x1000);
            vcpu = new Vcpu(0, kv, io, new MmioBus(), RealModeGuest.failOnInternalError());
            vcpu.start();
            vcpu.resume();
        }

        /** The guest writes one byte into each page, and is still again when this returns. */
        void guestWrites(long... pages) throws InterruptedException {
            for (long p : pages) {
                assertThat(p).isBetween(1L, 255L); // what a real-mode segment reaches
                commands.add(p << 8);
            }
            commands.add(0L);
            assertThat(batches.tryAcquire(30, TimeUnit.SECONDS)).as("the guest wrote its pages").isTrue();
        }

        @Override
        public void close() {
            stopping = true;
            commands.add(0L);
            vcpu.stop();
            kv.close();
            log.close();
            vm.close();
            kvm.close();
            RamAllocator.unmap(ram);
        }
    }

    private static Rig rig(boolean manual) {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        Rig r = new Rig(manual);
        if (manual && !r.log.manualProtect()) {
            r.close();
            assumeTrue(false, "KVM does not offer KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2");
        }
        assertThat(r.log.manualProtect()).as("manual protection in use").isEqualTo(manual);
        return r;
    }

    @ParameterizedTest(name = "manual protect {0}")
    @ValueSource(booleans = {true, false})
    void guestWritesAndVmmWritesAreReportedOnceEach(boolean manual) throws Exception {
        try (Rig r = rig(manual)) {
            r.log.start();
            r.guestWrites(5, 7, 9);
            r.mem.writeInt(0x20000, 7);                 // the VMM's own write (a device's, say)
            r.ram.set(ValueLayout.JAVA_BYTE, 0x30000, (byte) 1);
            r.mem.markWritten(0x30000, 1);              // a DMA slice, reported
            assertThat(pages(r.log.sync())).containsExactly(0x5L, 0x7L, 0x9L, 0x20L, 0x30L);
            assertThat(DirtyLog.count(r.log.sync())).as("cleared by the sync").isZero();
            r.guestWrites(7, 0x41);
            r.mem.writeInt(0x20000, 8);
            assertThat(pages(r.log.sync())).as("written again").containsExactly(0x7L, 0x20L, 0x41L);
            r.log.stop();
            r.mem.writeInt(0x20000, 9);
            r.guestWrites(9);
            assertThat(DirtyLog.count(r.log.sync())).as("nothing recorded once stopped").isZero();
        }
    }

    @ParameterizedTest(name = "manual protect {0}")
    @ValueSource(booleans = {true, false})
    void aPageStaysReportedUntilItsChunkIsClearedAndIsReportedAgainWhenWrittenAfter(boolean manual)
            throws Exception {
        try (Rig r = rig(manual)) {
            r.log.start();
            r.guestWrites(5, 7, 0x45, 0x85);            // chunks 0, 0, 1, 2
            r.mem.writeInt(0x20000, 1);                 // page 0x20, chunk 0: the VMM's
            assertThat(pages(r.log.syncKeepingProtection())).containsExactly(0x5L, 0x7L, 0x20L, 0x45L, 0x85L);

            r.log.clearForSending(0, 7);                // about to send chunk 0 (pages 0-63)
            r.log.clearForSending(0, 0x85);             // and chunk 2
            r.guestWrites(5, 0x46);                     // chunk 0 again; chunk 1, not cleared yet
            assertThat(pages(r.log.syncKeepingProtection()))
                    .as("5: written after its chunk was cleared; 0x45: its chunk not cleared yet; 0x46: new")
                    .containsExactly(0x5L, 0x45L, 0x46L);

            r.log.clearForSending(0, 0x40);
            r.log.clearForSending(0, 0x3f);
            assertThat(DirtyLog.count(r.log.syncKeepingProtection())).as("all cleared, nothing written").isZero();

            r.guestWrites(0x46, 0x86);                  // in chunks cleared once already
            r.mem.writeInt(0x100000, 2);                // page 0x100, the short last chunk
            assertThat(pages(r.log.syncKeepingProtection())).containsExactly(0x46L, 0x86L, 0x100L);
            r.log.clearForSending(0, 0x100);
            assertThat(pages(r.log.syncKeepingProtection())).as("only the last chunk cleared")
                    .containsExactly(0x46L, 0x86L);
        }
    }

    @ParameterizedTest(name = "manual protect {0}")
    @ValueSource(booleans = {true, false})
    void startingAllDirtyReportsEveryPageUntilItsChunkIsCleared(boolean manual) throws Exception {
        try (Rig r = rig(manual)) {
            r.log.startAllDirty();
            System.out.println("dirty log: manual protect " + r.log.manualProtect() + ", initially set "
                    + r.log.initiallySet() + ", KVM offers 0x" + Integer.toHexString(
                    r.vm.checkExtension(KvmIoctls.CAP_MANUAL_DIRTY_LOG_PROTECT2)));
            assertThat(pages(r.log.syncKeepingProtection())).as("every page, none beyond the slot")
                    .isEqualTo(range(0, PAGES));

            r.log.clearForSending(0, 0);
            r.guestWrites(5, 0x50);
            var expected = new ArrayList<Long>(List.of(5L));
            expected.addAll(range(CHUNK, PAGES));
            assertThat(pages(r.log.syncKeepingProtection())).as("chunk 0 cleared, then page 5 written")
                    .isEqualTo(expected);

            for (long p = 0; p < PAGES; p += CHUNK) {
                r.log.clearForSending(0, p);
            }
            assertThat(DirtyLog.count(r.log.syncKeepingProtection())).isZero();
            r.guestWrites(0x50);
            assertThat(pages(r.log.sync())).containsExactly(0x50L);
            assertThat(DirtyLog.count(r.log.sync())).isZero();
        }
    }

    @Test
    void aChunkMustBeAMultipleOf64Pages() {
        assertThatThrownBy(() -> new DirtyLog(null, null, List.of(), false, 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of 64");
    }

    private static List<Long> range(long from, long to) {
        return LongStream.range(from, to).boxed().toList();
    }

    private static List<Long> pages(long[][] bitmaps) {
        assertThat(bitmaps).hasNumberOfRows(1);
        long[] bitmap = bitmaps[0];
        var out = new ArrayList<Long>();
        for (int w = 0; w < bitmap.length; w++) {
            for (int b = 0; b < 64; b++) {
                if ((bitmap[w] & (1L << b)) != 0) {
                    out.add(w * 64L + b);
                }
            }
        }
        return out;
    }
}
