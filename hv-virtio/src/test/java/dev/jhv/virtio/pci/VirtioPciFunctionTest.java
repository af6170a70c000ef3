package dev.jhv.virtio.pci;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.devices.pci.MsixCapability;
import dev.jhv.devices.pci.PciBar;
import dev.jhv.devices.pci.PciConfigSpace;
import dev.jhv.virtio.device.VirtioContext;
import dev.jhv.virtio.device.VirtioDevice;
import dev.jhv.virtio.device.VirtioFeatures;
import dev.jhv.virtio.queue.DescriptorChain;
import dev.jhv.virtio.queue.VirtqueueException;
import dev.jhv.core.kvm.IoEventFd;
import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.machine.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static dev.jhv.virtio.pci.VirtioPciFunction.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The transport's registers with a fake device, over an Arena-backed guest RAM and no KVM. */
class VirtioPciFunctionTest {
    private static final long DEVICE_FEATURE = 1L << 3;
    private static final long DESC = 0x1000;
    private static final long AVAIL = 0x2000;
    private static final long USED = 0x3000;

    /** One queue of 8; a configuration space of 8 bytes reading 0x10 + offset; pushes every chain it pops. */
    static final class FakeDevice implements VirtioDevice<FakeDevice.Counter> {
        record Counter(int served) { }

        final BlockingQueue<String> events = new LinkedBlockingQueue<>();
        volatile VirtioContext context;
        volatile String breakWith;
        int served;

        @Override
        public int deviceType() {
            return 4;
        }

        @Override
        public String name() {
            return "virtio-fake";
        }

        @Override
        public long deviceFeatures() {
            return DEVICE_FEATURE;
        }

        @Override
        public int queueCount() {
            return 1;
        }

        @Override
        public int queueMaxSize(int q) {
            return 8;
        }

        @Override
        public int configLength() {
            return 8;
        }

        @Override
        public int readConfig(int offset, int size) {
            int v = 0;
            for (int i = 0; i < size; i++) {
                v |= (0x10 + offset + i) << (8 * i);
            }
            return v;
        }

        @Override
        public void activate(VirtioContext context, long features) {
            this.context = context;
            events.add("activate 0x" + Long.toHexString(features) + " on " + Thread.currentThread().getName());
        }

        @Override
        public void queueNotified(int q) {
            if (breakWith != null) {
                context.needsReset(breakWith);
                return;
            }
            var vq = context.queue(q);
            try {
                for (DescriptorChain c; (c = vq.pop(context.memory())) != null; ) {
                    vq.push(context.memory(), c, 0);
                    served++;
                    events.add("served " + c.head());
                }
            } catch (VirtqueueException e) {
                context.needsReset(e.getMessage());
            }
            context.usedBuffers(q);
        }

        @Override
        public void reset() {
            context = null;
            events.add("reset");
        }

        @Override
        public RecordDescription<Counter> stateDescription() {
            return RecordDescription.part(Counter.class, "fake", 1).u32("served").build();
        }

        @Override
        public Counter state() {
            return new Counter(served);
        }

        @Override
        public void restore(Counter state) {
            served = state.served();
        }
    }

    private final Arena arena = Arena.ofShared();
    private final MemorySegment ram = arena.allocate(1 << 20, 4096);
    private final GuestMemory memory = new GuestMemory(List.of(new GuestMemory.Region(0, ram)));
    private final List<String> fired = new ArrayList<>();
    private final MsixCapability.Routes routes = new MsixCapability.Routes() {
        @Override
        public void update(int vector, int addressLo, int addressHi, int data) {
        }

        @Override
        public synchronized void fire(int vector) {
            fired.add("vector " + vector);
        }
    };
    private final FakeDevice device = new FakeDevice();
    private final VirtioPciFunction<FakeDevice.Counter> f =
            new VirtioPciFunction<>(device, 0, memory, Doorbells.NONE, routes);

    @AfterEach
    void close() {
        f.close();
        arena.close();
    }

    private String event() throws InterruptedException {
        String e = device.events.poll(10, TimeUnit.SECONDS);
        assertThat(e).as("an event from the device within the bound").isNotNull();
        return e;
    }

    @Test
    void identityAndCapabilitiesAreQemus() {
        assertThat(f.configRead(PciConfigSpace.VENDOR_ID, 4)).isEqualTo(0x1005_1af4);
        assertThat(f.configRead(PciConfigSpace.SUBSYSTEM_VENDOR_ID, 4)).isEqualTo(0x0004_1af4);
        assertThat(f.configRead(PciConfigSpace.REVISION_ID, 4)).isEqualTo(0x00ff_0000);
        assertThat(f.interruptPin()).isEqualTo(1);
        List<String> caps = new ArrayList<>();
        for (int at = f.configRead(PciConfigSpace.CAPABILITIES_POINTER, 1); at != 0; at = f.configRead(at + 1, 1)) {
            int id = f.configRead(at, 1);
            caps.add(String.format("0x%02x:%s", at, id == CAP_VENDOR ? "virtio" + f.configRead(at + 3, 1)
                    : "0x" + Integer.toHexString(id)));
        }
        assertThat(caps).containsExactly("0x40:virtio1", "0x50:virtio3", "0x60:virtio4", "0x70:virtio2",
                "0x84:virtio5", "0x98:0x11");
        assertThat(f.configRead(0x70 + 16, 4)).as("notify_off_multiplier").isEqualTo(4);
        assertThat(f.configRead(0x60 + 8, 4)).as("device cfg offset in BAR4").isEqualTo(0x2000);
        assertThat(f.bars()).extracting(PciBar::index, PciBar::kind, PciBar::size).containsExactly(
                org.assertj.core.groups.Tuple.tuple(0, PciBar.Kind.IO, 32L),
                org.assertj.core.groups.Tuple.tuple(1, PciBar.Kind.MEMORY32, 0x1000L),
                org.assertj.core.groups.Tuple.tuple(4, PciBar.Kind.MEMORY64, 0x4000L));
    }

    @Test
    void thePciConfigurationAccessCapabilityReachesBar4() {
        int cap = f.pciCfgCapability();
        f.configWrite(cap + 4, 1, MODERN_BAR);
        f.configWrite(cap + 8, 4, C_NUMQ);
        f.configWrite(cap + 12, 4, 2);
        assertThat(f.configRead(cap + 16, 4) & 0xffff).as("num_queues read through configuration space").isEqualTo(1);
        f.configWrite(cap + 8, 4, C_STATUS);
        f.configWrite(cap + 12, 4, 1);
        f.configWrite(cap + 16, 4, ACKNOWLEDGE);
        assertThat(f.status()).isEqualTo(ACKNOWLEDGE);
        f.configWrite(cap + 8, 4, 0x4001);
        assertThat(f.configRead(cap + 16, 4)).as("outside the BAR: nothing read").isEqualTo(ACKNOWLEDGE);
    }

    @Test
    void featuresNotOfferedRefuseFeaturesOk() {
        f.writeCommon(C_DFSELECT, 4, 1);
        assertThat(f.readCommon(C_DF, 4)).as("VERSION_1 in the high word").isEqualTo(1);
        f.writeCommon(C_DFSELECT, 4, 0);
        assertThat(f.readCommon(C_DF, 4)).isEqualTo(DEVICE_FEATURE | VirtioFeatures.EVENT_IDX
                | VirtioFeatures.INDIRECT_DESC);
        f.writeCommon(C_STATUS, 1, ACKNOWLEDGE | DRIVER);
        f.writeCommon(C_GFSELECT, 4, 0);
        f.writeCommon(C_GF, 4, 1 << 5); // not offered
        f.writeCommon(C_GFSELECT, 4, 1);
        f.writeCommon(C_GF, 4, 1);
        f.writeCommon(C_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assertThat(f.readCommon(C_STATUS, 1) & FEATURES_OK).isZero();
        f.writeCommon(C_GFSELECT, 4, 0);
        f.writeCommon(C_GF, 4, (int) DEVICE_FEATURE);
        f.writeCommon(C_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assertThat(f.readCommon(C_STATUS, 1)).isEqualTo(ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assertThat(f.guestFeatures()).isEqualTo(VirtioFeatures.VERSION_1 | DEVICE_FEATURE);
    }

    @Test
    void legacyDriversSeeTheLowWordWithoutVersion1() {
        assertThat(f.readLegacy(L_HOST_FEATURES, 4)).isEqualTo(DEVICE_FEATURE | VirtioFeatures.EVENT_IDX
                | VirtioFeatures.INDIRECT_DESC);
        f.writeLegacy(L_GUEST_FEATURES, 4, 0xffffffffL);
        assertThat(f.guestFeatures()).as("only offered bits are taken").isEqualTo(DEVICE_FEATURE
                | VirtioFeatures.EVENT_IDX | VirtioFeatures.INDIRECT_DESC);
        assertThat(f.readLegacy(L_QUEUE_NUM, 2)).isEqualTo(8);
        assertThat(f.readLegacy(LEGACY_HEADER, 4)).as("device config after 20 bytes without MSI-X")
                .isEqualTo(0x13121110);
    }

    private void modernSetup() throws InterruptedException {
        f.writeCommon(C_STATUS, 1, ACKNOWLEDGE | DRIVER);
        f.writeCommon(C_GFSELECT, 4, 1);
        f.writeCommon(C_GF, 4, 1);
        f.writeCommon(C_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK);
        f.writeCommon(C_Q_SELECT, 2, 0);
        assertThat(f.readCommon(C_Q_SIZE, 2)).isEqualTo(8);
        f.writeCommon(C_Q_SIZE, 2, 4);
        f.writeCommon(C_Q_DESCLO, 4, DESC);
        f.writeCommon(C_Q_AVAILLO, 4, AVAIL);
        f.writeCommon(C_Q_USEDLO, 4, USED);
        f.writeCommon(C_Q_ENABLE, 2, 1);
        f.writeCommon(C_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertThat(event()).isEqualTo("activate 0x100000000 on virtio-fake-0-io");
    }

    private void offer(int idx) {
        ram.set(ValueLayout.JAVA_LONG_UNALIGNED, DESC, 0x8000);
        ram.set(ValueLayout.JAVA_INT_UNALIGNED, DESC + 8, 16);
        ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, AVAIL + 4 + 2L * ((idx - 1) % 4), (short) 0);
        ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, AVAIL + 2, (short) idx);
    }

    @Test
    void aNotifyReachesTheDeviceOnItsThreadAndIsrRaisesIntx() throws Exception {
        modernSetup();
        assertThat(f.queue(0).size()).isEqualTo(4);
        offer(1);
        new ModernAccess(f).write(NOTIFY_OFFSET, 2, 0);
        assertThat(event()).isEqualTo("served 0");
        assertThat(readUntilSet()).isEqualTo(ISR_QUEUE);
        assertThat(f.isr()).as("read to clear").isZero();
        assertThat(f.intxRequested()).isFalse();
    }

    /** The ISR once the I/O thread is done with what was rung (a pause waits for that), read through BAR0. */
    private int readUntilSet() {
        f.pause();
        assertThat(f.intxRequested()).isTrue();
        int isr = (int) f.readLegacy(L_ISR, 1);
        f.resume();
        return isr;
    }

    /** The ioeventfd path: KVM signals the eventfd on a guest write; here the test signals it as KVM would. */
    @Test
    @Tag("kvm")
    void anIoeventfdSignalReachesTheDeviceOnItsThread() throws Exception {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        modernSetup();
        offer(1);
        List<IoEventFd> made = new ArrayList<>();
        try (var base = Machine.KvmBase.open(); var io = new IoThread("test-io", f)) {
            io.replaceDoorbells(false, q -> {
                IoEventFd e = base.vm().ioeventfd(IoEventFd.Space.PIO, 0x5000 + 2L * q, 2, OptionalLong.empty());
                made.add(e);
                return e;
            }, 1);
            assertThat(event()).as("a moved doorbell rings once: a notification may have been lost")
                    .isEqualTo("served 0");
            offer(2);
            made.getFirst().event().signal();
            assertThat(event()).isEqualTo("served 0");
            io.replaceDoorbells(false, null, 1); // the BAR stopped decoding: deassigned and closed
        }
    }

    @Test
    void msixVectorsTakeOverFromIntx() throws Exception {
        int cap = f.msix().offset();
        f.configWrite(cap + 2, 2, 0x8000);
        // vector 1: unmasked, some message
        f.msix().write(16 + 12, 4, 0);
        modernSetup();
        f.writeCommon(C_Q_MSIX, 2, 1);
        assertThat(f.readCommon(C_Q_MSIX, 2)).isEqualTo(1);
        f.writeCommon(C_Q_MSIX, 2, 7);
        assertThat(f.readCommon(C_Q_MSIX, 2)).as("a vector past the table reads NO_VECTOR").isEqualTo(0xffff);
        f.writeCommon(C_Q_MSIX, 2, 1);
        offer(1);
        f.doorbell(0);
        assertThat(event()).isEqualTo("served 0");
        f.pause(); // the I/O thread is outside the device: what it fired is recorded
        synchronized (routes) {
            assertThat(fired).containsExactly("vector 1");
        }
        assertThat(f.isr()).isZero();
        f.resume();
    }

    @Test
    void aBrokenRuleSetsNeedsResetAndAResetClearsIt() throws Exception {
        modernSetup();
        device.breakWith = "bad request";
        f.doorbell(0);
        f.pause();
        assertThat(f.status() & DEVICE_NEEDS_RESET).isNotZero();
        assertThat(f.isr() & ISR_CONFIG).as("configuration interrupt").isNotZero();
        assertThat(f.readCommon(C_CFGGEN, 1)).isEqualTo(1);
        f.resume();
        f.writeCommon(C_STATUS, 1, 0);
        assertThat(event()).isEqualTo("reset");
        assertThat(f.status()).isZero();
        assertThat(f.readCommon(C_Q_ENABLE, 2)).isZero();
        assertThat(f.readCommon(C_Q_SIZE, 2)).isEqualTo(8);
    }

    @Test
    void badQueueSizeAtEnableAsksForReset() {
        f.writeCommon(C_Q_SIZE, 2, 6);
        f.writeCommon(C_Q_ENABLE, 2, 1);
        assertThat(f.readCommon(C_Q_ENABLE, 2)).isZero();
        assertThat(f.status() & DEVICE_NEEDS_RESET).isNotZero();
    }

    @Test
    void legacyQueuePfnLaysOutTheRing() {
        f.writeLegacy(L_QUEUE_SEL, 2, 0);
        f.writeLegacy(L_QUEUE_PFN, 4, 0x10);
        var s = f.queue(0).state();
        assertThat(s.descAddr()).isEqualTo(0x10000);
        assertThat(s.availAddr()).isEqualTo(0x10000 + 8 * 16);
        assertThat(s.usedAddr()).isEqualTo(0x11000);
        assertThat(f.readLegacy(L_QUEUE_PFN, 4)).isEqualTo(0x10);
    }

    @Test
    void stateRoundTripsIntoATwin() throws Exception {
        modernSetup();
        offer(1);
        f.doorbell(0);
        assertThat(event()).isEqualTo("served 0");
        f.pause();
        byte[] saved = f.saveState();
        var twinDevice = new FakeDevice();
        try (var twin = new Closing(new VirtioPciFunction<>(twinDevice, 1, memory, Doorbells.NONE, routes))) {
            twin.f.pause();
            twin.f.loadState(saved, 1);
            assertThat(twinDevice.events.poll(10, TimeUnit.SECONDS)).startsWith("activate 0x100000000");
            assertThat(twin.f.saveState()).isEqualTo(saved);
            assertThat(twin.f.queue(0).state()).isEqualTo(f.queue(0).state());
            assertThat(twinDevice.served).isEqualTo(1);
        }
        f.resume();
    }

    private record Closing(VirtioPciFunction<?> f) implements AutoCloseable {
        @Override
        public void close() {
            f.close();
        }
    }

    /** BAR4 as the guest reaches it. */
    private record ModernAccess(VirtioPciFunction<?> f) {
        void write(long offset, int size, long value) {
            if (offset >= NOTIFY_OFFSET) {
                f.doorbell((int) ((offset - NOTIFY_OFFSET) / NOTIFY_MULTIPLIER));
            } else {
                f.writeCommon((int) offset, size, value);
            }
        }
    }
}
