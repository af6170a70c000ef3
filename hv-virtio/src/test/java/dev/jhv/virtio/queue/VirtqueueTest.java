package dev.jhv.virtio.queue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static dev.jhv.virtio.queue.Virtqueue.DESC_F_INDIRECT;
import static dev.jhv.virtio.queue.Virtqueue.DESC_F_NEXT;
import static dev.jhv.virtio.queue.Virtqueue.DESC_F_WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VirtqueueTest {
    private final TestRing r = new TestRing(8);

    @AfterEach
    void close() {
        r.close();
    }

    @Test
    void emptyRingGivesNothing() throws Exception {
        assertThat(r.queue.pop(r.memory)).isNull();
    }

    @Test
    void disabledQueueGivesNothing() throws Exception {
        r.desc(0, TestRing.DATA, 16, 0, 0);
        r.offer(0);
        r.queue.configure(8, TestRing.DESC, TestRing.AVAIL, TestRing.USED, false);
        assertThat(r.queue.pop(r.memory)).isNull();
    }

    @Test
    void chainOfReadableThenWritableBuffers() throws Exception {
        r.desc(3, TestRing.DATA, 16, DESC_F_NEXT, 5);
        r.desc(5, TestRing.DATA + 0x100, 512, DESC_F_NEXT | DESC_F_WRITE, 1);
        r.desc(1, TestRing.DATA + 0x400, 1, DESC_F_WRITE, 0);
        r.offer(3);
        DescriptorChain c = r.queue.pop(r.memory);
        assertThat(c.head()).isEqualTo(3);
        assertThat(c.readable()).containsExactly(new GuestBuffer(TestRing.DATA, 16));
        assertThat(c.writable()).containsExactly(new GuestBuffer(TestRing.DATA + 0x100, 512),
                new GuestBuffer(TestRing.DATA + 0x400, 1));
        assertThat(r.queue.pop(r.memory)).isNull();
    }

    @Test
    void pushWritesTheUsedElementAndIndexAndMarksPages() throws Exception {
        r.memory.startWriteTracking();
        r.desc(0, TestRing.DATA + 0x2000, 100, DESC_F_WRITE, 0);
        r.offer(0);
        DescriptorChain c = r.queue.pop(r.memory);
        r.queue.push(r.memory, c, 60);
        assertThat(r.usedIdx()).isEqualTo(1);
        assertThat(r.usedId(0)).isZero();
        assertThat(r.usedLen(0)).isEqualTo(60);
        long[] written = r.memory.takeWritten(0);
        assertThat(bit(written, TestRing.USED / 4096)).isTrue();
        assertThat(bit(written, (TestRing.DATA + 0x2000) / 4096)).isTrue();
        assertThat(bit(written, TestRing.DESC / 4096)).isFalse();
    }

    private static boolean bit(long[] words, long page) {
        return (words[(int) (page / 64)] & (1L << page)) != 0;
    }

    /** Negotiates INDIRECT_DESC and gives where the test's indirect table goes. */
    private long indirectTable() {
        r.queue.setFeatures(false, true);
        return TestRing.DATA + 0x8000;
    }

    @Test
    void indirectTableIsFlattened() throws Exception {
        long table = indirectTable();
        r.descAt(table, 0, TestRing.DATA, 8, DESC_F_NEXT, 2);
        r.descAt(table, 2, TestRing.DATA + 0x10, 4, DESC_F_NEXT | DESC_F_WRITE, 1);
        r.descAt(table, 1, TestRing.DATA + 0x20, 4, DESC_F_WRITE, 0);
        r.desc(6, table, 3 * 16, DESC_F_INDIRECT, 0);
        r.offer(6);
        DescriptorChain c = r.queue.pop(r.memory);
        assertThat(c.head()).isEqualTo(6);
        assertThat(c.readable()).hasSize(1);
        assertThat(c.writable()).hasSize(2);
        assertThat(c.writableLength()).isEqualTo(8);
    }

    @Test
    void indirectWithoutTheFeatureIsRefused() {
        r.desc(0, TestRing.DATA, 32, DESC_F_INDIRECT, 0);
        r.offer(0);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).isInstanceOf(VirtqueueException.class)
                .hasMessageContaining("VIRTIO_F_INDIRECT_DESC");
    }

    @Test
    void indirectTableRulesAreChecked() {
        long table = indirectTable();
        r.desc(0, table, 24, DESC_F_INDIRECT, 0);
        r.offer(0);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("multiple of 16");
    }

    @Test
    void nestedIndirectIsRefused() {
        long table = indirectTable();
        r.descAt(table, 0, table, 16, DESC_F_INDIRECT, 0);
        r.desc(0, table, 16, DESC_F_INDIRECT, 0);
        r.offer(0);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("inside an indirect table");
    }

    @Test
    void nextOutsideTheIndirectTableIsRefused() {
        long table = indirectTable();
        r.descAt(table, 0, TestRing.DATA, 8, DESC_F_NEXT, 2);
        r.desc(0, table, 32, DESC_F_INDIRECT, 0);
        r.offer(0);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("indirect table's 2 entries");
    }

    @Test
    void loopIsCaughtByTheLengthBound() {
        r.desc(0, TestRing.DATA, 8, DESC_F_NEXT, 1);
        r.desc(1, TestRing.DATA, 8, DESC_F_NEXT, 0);
        r.offer(0);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).isInstanceOf(VirtqueueException.class)
                .hasMessageContaining("longer than 8 descriptors");
    }

    @Test
    void loopInIndirectTableIsCaught() {
        long table = indirectTable();
        r.descAt(table, 0, TestRing.DATA, 8, DESC_F_NEXT, 1);
        r.descAt(table, 1, TestRing.DATA, 8, DESC_F_NEXT, 0);
        r.desc(0, table, 32, DESC_F_INDIRECT, 0);
        r.offer(0);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("longer than 2");
    }

    @Test
    void bufferOutsideRamIsRefused() {
        r.desc(0, TestRing.RAM_SIZE - 8, 16, 0, 0);
        r.offer(0);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("outside guest RAM");
    }

    @Test
    void hugeAddressIsRefused() {
        r.desc(0, -16, 16, 0, 0);
        r.offer(0);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("outside guest RAM");
    }

    @Test
    void headOutOfRangeIsRefused() {
        r.offer(8);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("head descriptor 8");
    }

    @Test
    void nextOutOfRangeIsRefused() {
        r.desc(0, TestRing.DATA, 8, DESC_F_NEXT, 9);
        r.offer(0);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("next 9");
    }

    @Test
    void readableAfterWritableIsRefused() {
        r.desc(0, TestRing.DATA, 8, DESC_F_NEXT | DESC_F_WRITE, 1);
        r.desc(1, TestRing.DATA, 8, 0, 0);
        r.offer(0);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("readable after");
    }

    @Test
    void availIndexJumpIsRefused() {
        r.setAvailIdx(9);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("more than the queue size 8");
    }

    @Test
    void ringOutsideRamIsRefused() {
        r.queue.configure(8, TestRing.RAM_SIZE - 16, TestRing.AVAIL, TestRing.USED, true);
        assertThatThrownBy(() -> r.queue.pop(r.memory)).hasMessageContaining("descriptor table");
    }

    @Test
    void indicesWrapAround() throws Exception {
        r.queue.restore(new Virtqueue.State(8, true, TestRing.DESC, TestRing.AVAIL, TestRing.USED,
                0xffff, 0xffff, false, 0));
        r.availIdx = 0xffff;
        r.desc(0, TestRing.DATA, 8, 0, 0);
        r.offer(0);
        DescriptorChain c = r.queue.pop(r.memory);
        assertThat(c).isNotNull();
        r.queue.push(r.memory, c, 0);
        assertThat(r.usedIdx()).isZero();
        assertThat(r.queue.state().lastAvailIdx()).isZero();
    }

    @Test
    void noInterruptFlagIsHonoured() throws Exception {
        r.desc(0, TestRing.DATA, 8, 0, 0);
        r.offer(0);
        r.queue.push(r.memory, r.queue.pop(r.memory), 0);
        r.setAvailFlags(Virtqueue.AVAIL_F_NO_INTERRUPT);
        assertThat(r.queue.needsInterrupt(r.memory)).isFalse();
        r.offer(0);
        r.queue.push(r.memory, r.queue.pop(r.memory), 0);
        r.setAvailFlags(0);
        assertThat(r.queue.needsInterrupt(r.memory)).isTrue();
        assertThat(r.queue.needsInterrupt(r.memory)).as("nothing new pushed").isFalse();
    }

    @Test
    void usedEventDecidesWithEventIdx() throws Exception {
        r.queue.setFeatures(true, false);
        r.desc(0, TestRing.DATA, 8, 0, 0);
        for (int i = 0; i < 3; i++) {
            r.offer(0);
        }
        r.setUsedEvent(1); // the driver wants an interrupt once the used index passes 1, i.e. reaches 2
        r.queue.push(r.memory, r.queue.pop(r.memory), 0);
        assertThat(r.queue.needsInterrupt(r.memory)).as("first one always signals").isTrue();
        r.queue.push(r.memory, r.queue.pop(r.memory), 0);
        assertThat(r.queue.needsInterrupt(r.memory)).as("used idx 2 passes used_event 1").isTrue();
        r.queue.push(r.memory, r.queue.pop(r.memory), 0);
        assertThat(r.queue.needsInterrupt(r.memory)).as("used_event 1 already passed").isFalse();
    }

    @Test
    void availEventFollowsPopsWithEventIdx() throws Exception {
        r.queue.setFeatures(true, false);
        r.desc(0, TestRing.DATA, 8, 0, 0);
        r.offer(0);
        r.offer(0);
        r.queue.pop(r.memory);
        assertThat(r.availEvent()).isEqualTo(1);
        r.queue.setNotifications(r.memory, false);
        r.queue.pop(r.memory);
        assertThat(r.availEvent()).as("not moved while notifications are off").isEqualTo(1);
        r.queue.setNotifications(r.memory, true);
        assertThat(r.availEvent()).isEqualTo(2);
    }

    @Test
    void noNotifyFlagWithoutEventIdx() {
        r.queue.setNotifications(r.memory, false);
        assertThat(r.usedFlags()).isEqualTo(Virtqueue.USED_F_NO_NOTIFY);
        r.queue.setNotifications(r.memory, true);
        assertThat(r.usedFlags()).isZero();
    }

    @Test
    void stateRoundTripsAndBadStatesAreRefused() {
        var s = new Virtqueue.State(4, true, 0x1000, 0x2000, 0x3000, 7, 5, true, 5);
        r.queue.restore(s);
        assertThat(r.queue.state()).isEqualTo(s);
        assertThatThrownBy(() -> r.queue.restore(new Virtqueue.State(16, true, 0, 0, 0, 0, 0, false, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("size 16");
        assertThatThrownBy(() -> r.queue.restore(new Virtqueue.State(4, true, 0, 0, 0, 0x10000, 0, false, 0)))
                .isInstanceOf(IllegalArgumentException.class);
        r.queue.reset();
        assertThat(r.queue.state()).isEqualTo(new Virtqueue.State(8, false, 0, 0, 0, 0, 0, false, 0));
    }
}
