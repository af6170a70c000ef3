package dev.jhv.core.sys;

import dev.jhv.core.memory.RamAllocator;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

/** A thread touching a missing page of guest-RAM-like memory waits until the page is placed, and sees its bytes. */
class UserFaultFdTest {
    private static final long PAGE = 4096;

    @Test
    void aReaderOfAMissingPageWaitsForTheCopyAndSeesItsBytes() throws Exception {
        MemorySegment ram = RamAllocator.map(16 * PAGE);
        try (UserFaultFd uffd = UserFaultFd.open(); Arena a = Arena.ofConfined()) {
            ram.set(JAVA_LONG, 0, 0x1111); // present before registration: never faults
            uffd.registerMissing(ram);
            var reader = CompletableFuture.supplyAsync(() -> ram.get(JAVA_LONG, 5 * PAGE + 8));
            UserFaultFd.PageFault[] faults = new UserFaultFd.PageFault[8];
            int n = 0;
            for (int i = 0; i < 100 && n == 0; i++) {
                n = uffd.awaitFaults(faults, 100);
            }
            assertThat(n).isEqualTo(1);
            assertThat(faults[0].page()).isEqualTo(ram.address() + 5 * PAGE);
            assertThat(faults[0].write()).isFalse();
            assertThat(reader).isNotDone();
            MemorySegment src = a.allocate(PAGE, PAGE);
            src.set(JAVA_LONG, 8, 0xfeedL);
            assertThat(uffd.copy(faults[0].page(), src, PAGE)).isZero();
            assertThat(reader.get(10, TimeUnit.SECONDS)).isEqualTo(0xfeedL);
            // a page placed twice: EEXIST, not an error
            assertThat(uffd.copy(faults[0].page(), src, PAGE)).isEqualTo(-Errno.EEXIST);
            assertThat(ram.get(JAVA_LONG, 0)).isEqualTo(0x1111);

            var writer = CompletableFuture.runAsync(() -> ram.set(JAVA_LONG, 9 * PAGE, 7));
            n = 0;
            for (int i = 0; i < 100 && n == 0; i++) {
                n = uffd.awaitFaults(faults, 100);
            }
            assertThat(faults[0].write()).isTrue();
            assertThat(uffd.zeroPage(faults[0].page(), PAGE)).isZero();
            writer.get(10, TimeUnit.SECONDS);
            assertThat(ram.get(JAVA_LONG, 9 * PAGE)).isEqualTo(7);
            uffd.unregister(ram);
        } finally {
            RamAllocator.unmap(ram);
        }
    }

    @Test
    void interruptEndsAWait() {
        try (UserFaultFd uffd = UserFaultFd.open()) {
            uffd.interrupt();
            assertThat(uffd.awaitFaults(new UserFaultFd.PageFault[1], 10_000)).isZero();
        }
    }

    @Test
    void aDiscardedPageFaultsAgain() throws Exception {
        MemorySegment ram = RamAllocator.map(4 * PAGE);
        try (UserFaultFd uffd = UserFaultFd.open()) {
            ram.set(JAVA_LONG, PAGE, 42);
            uffd.registerMissing(ram);
            Libc.madvise(ram.asSlice(PAGE, PAGE), Libc.MADV_DONTNEED); // as postcopy frees a stale page
            var reader = CompletableFuture.supplyAsync(() -> ram.get(JAVA_LONG, PAGE));
            UserFaultFd.PageFault[] faults = new UserFaultFd.PageFault[8];
            int n = 0;
            for (int i = 0; i < 100 && n == 0; i++) {
                n = uffd.awaitFaults(faults, 100);
            }
            assertThat(n).isEqualTo(1);
            assertThat(uffd.zeroPage(faults[0].page(), PAGE)).isZero();
            assertThat(reader.get(10, TimeUnit.SECONDS)).isZero();
        } finally {
            RamAllocator.unmap(ram);
        }
    }
}
