package dev.jhv.virtio.net;

import dev.jhv.virtio.queue.DescriptorChain;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static dev.jhv.virtio.net.NetBench.MAC;
import static dev.jhv.virtio.net.NetBench.concat;
import static dev.jhv.virtio.net.NetBench.frame;
import static dev.jhv.virtio.net.NetBench.native_;
import static org.assertj.core.api.Assertions.assertThat;

class VirtioNetRxTest {
    static final long SINGLE = NetBench.MODERN & ~NetFeatures.MRG_RXBUF;

    static byte[] header(int numBuffers) {
        byte[] h = new byte[12];
        NetHeader.put16(h, 10, numBuffers);
        return h;
    }

    DescriptorChain buffer(NetBench b, int... lengths) {
        return b.chain(List.of(), Arrays.stream(lengths).mapToObj(b::room).toList());
    }

    @Test
    void frameGoesIntoOneChainWithNumBuffersOne() {
        var b = new NetBench(0).activate(SINGLE);
        DescriptorChain c = buffer(b, 12, 1000, 1000);
        b.rx().avail.add(c);
        byte[] f = frame(MAC, 1514);

        assertThat(b.backend.receiver.receive(native_(f))).isTrue();

        assertThat(b.rx().used).containsExactly(new NetBench.Used(c, 12 + 1514));
        assertThat(b.written(c, 12 + 1514)).isEqualTo(concat(header(1), f));
        assertThat(b.rx().interrupts).isEqualTo(1);
        assertThat(b.net.stats().rxFrames()).isEqualTo(1);
    }

    @Test
    void chainTooShortForTheFrameIsReturnedEmptyAndTheFrameDropped() {
        var b = new NetBench(0).activate(SINGLE);
        DescriptorChain c = buffer(b, 100);
        b.rx().avail.add(c);
        b.backend.receiver.receive(native_(frame(MAC, 200)));

        assertThat(b.rx().used).containsExactly(new NetBench.Used(c, 0));
        assertThat(b.net.stats().rxDropped()).isEqualTo(1);
    }

    @Test
    void mergeableBuffersTakeAsManyChainsAsTheFrameNeeds() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        DescriptorChain c1 = buffer(b, 1526);
        DescriptorChain c2 = buffer(b, 1526);
        DescriptorChain c3 = buffer(b, 1526);
        b.rx().avail.addAll(List.of(c1, c2, c3));
        byte[] f = frame(MAC, 3000);

        b.backend.receiver.receive(native_(f));

        byte[] all = concat(header(2), f);
        assertThat(b.rx().used).containsExactly(new NetBench.Used(c1, 1526), new NetBench.Used(c2, 3012 - 1526));
        assertThat(concat(b.written(c1, 1526), b.written(c2, 3012 - 1526))).isEqualTo(all);
        assertThat(b.rx().avail).containsExactly(c3);
        assertThat(b.rx().interrupts).isEqualTo(1);
    }

    @Test
    void vnetHeaderFromTheBackendReachesTheGuest() {
        var b = new NetBench(12).activate(NetBench.MODERN | NetFeatures.GUEST_CSUM);
        DescriptorChain c = buffer(b, 2048);
        b.rx().avail.add(c);
        byte[] h = new byte[12];
        new NetHeader(NetHeader.F_DATA_VALID, 0, 0, 0, 0, 0, 0).write(h, 0, 12);
        byte[] f = frame(MAC, 80);

        b.backend.receiver.receive(native_(concat(h, f)));

        h[10] = 1; // num_buffers
        assertThat(b.written(c, 92)).isEqualTo(concat(h, f));
        assertThat(b.backend.offloads).as("GUEST_CSUM only").containsExactly(true, false, false, false, false);
    }

    @Test
    void noBufferHoldsFramesBackUntilTheDriverAddsBuffers() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        int taken = 0;
        while (b.backend.receiver.receive(native_(frame(MAC, 60 + taken)))) {
            taken++;
            assertThat(taken).as("the backlog is bounded").isLessThanOrEqualTo(VirtioNet.RX_BACKLOG);
        }
        assertThat(taken).isEqualTo(VirtioNet.RX_BACKLOG);
        assertThat(b.backend.resumes).isZero();

        for (int i = 0; i < VirtioNet.RX_BACKLOG; i++) {
            b.rx().avail.add(buffer(b, 1526));
        }
        b.net.queueNotified(VirtioNet.RX_QUEUE);

        assertThat(b.rx().used).hasSize(VirtioNet.RX_BACKLOG);
        assertThat(b.backend.resumes).isEqualTo(1);
        // In order: the first frame is 60 bytes, the last 60 + backlog - 1.
        assertThat(b.rx().used.getFirst().written()).isEqualTo(12 + 60);
        assertThat(b.rx().used.getLast().written()).isEqualTo(12 + 60 + VirtioNet.RX_BACKLOG - 1);
        assertThat(b.backend.receiver.receive(native_(frame(MAC, 60)))).isTrue();
    }

    @Test
    void mergedFrameWaitsWhenTheQueueRunsDryAndUsesTheReservedChainLater() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        DescriptorChain c1 = buffer(b, 1526);
        b.rx().avail.add(c1);
        byte[] f = frame(MAC, 3000);
        b.backend.receiver.receive(native_(f));
        assertThat(b.rx().used).isEmpty();

        DescriptorChain c2 = buffer(b, 1526);
        b.rx().avail.add(c2);
        b.net.queueNotified(VirtioNet.RX_QUEUE);
        assertThat(b.rx().used).extracting(NetBench.Used::chain).containsExactly(c1, c2);
        assertThat(concat(b.written(c1, 1526), b.written(c2, 3012 - 1526))).isEqualTo(concat(header(2), f));
    }

    @Test
    void pauseHandsReservedChainsBackEmpty() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        DescriptorChain c1 = buffer(b, 1526);
        b.rx().avail.add(c1);
        b.backend.receiver.receive(native_(frame(MAC, 3000)));
        b.net.pause();
        assertThat(b.rx().used).containsExactly(new NetBench.Used(c1, 0));
    }

    @Test
    void framesArrivingBeforeTheDriverRunsAreDropped() {
        var b = new NetBench(0);
        b.activate(NetBench.MODERN);
        b.net.reset();
        assertThat(b.backend.receiver.receive(native_(frame(MAC, 60)))).isTrue();
        assertThat(b.net.stats().rxDropped()).isEqualTo(1);
    }

    @Test
    void linkDownDropsFramesBothWaysAndTellsTheDriver() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.net.setLinkUp(false);
        assertThat(b.context.configChanges).isEqualTo(1);
        assertThat(b.net.readConfig(6, 2) & VirtioNet.STATUS_LINK_UP).isZero();
        assertThat(deliver(b, frame(MAC, 60))).isFalse();
        b.tx().avail.add(VirtioNetTxTest.txChain(b, new byte[12], frame(MAC, 60)));
        b.net.queueNotified(VirtioNet.TX_QUEUE);
        assertThat(b.backend.sent).isEmpty();
        assertThat(b.tx().used).as("the chain still comes back").hasSize(1);

        b.net.reset();
        assertThat(b.net.linkUp()).as("a guest reset does not plug the cable").isFalse();
        b.activate(NetBench.MODERN);
        b.net.setLinkUp(true);
        assertThat(b.net.readConfig(6, 2)).isEqualTo(VirtioNet.STATUS_LINK_UP);
        assertThat(deliver(b, frame(MAC, 60))).isTrue();
    }

    @Test
    void bufferTooSmallForTheHeaderIsADriverError() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.rx().avail.add(buffer(b, 8));
        b.backend.receiver.receive(native_(frame(MAC, 60)));
        assertThat(b.context.resets).singleElement().asString().contains("header");
    }

    @Test
    void promiscuousAtResetThenOnlyOwnBroadcastAndTableAddresses() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        MacAddress other = MacAddress.parse("52:54:00:99:99:99");
        MacAddress group = MacAddress.parse("01:00:5e:00:00:01");
        assertThat(delivered(b, other)).as("promiscuous after reset, as QEMU").isTrue();

        assertThat(b.run(ControlCommands.CLASS_RX, ControlCommands.RX_PROMISC, (byte) 0)).isZero();
        assertThat(delivered(b, other)).isFalse();
        assertThat(delivered(b, MAC)).isTrue();
        assertThat(delivered(b, MacAddress.BROADCAST)).isTrue();
        assertThat(delivered(b, group)).isFalse();

        byte[] table = new byte[4 + 6 + 4 + 6];
        table[0] = 1;
        other.put(table, 4);
        table[10] = 1;
        group.put(table, 14);
        assertThat(b.run(ControlCommands.CLASS_MAC, ControlCommands.MAC_TABLE_SET, table)).isZero();
        assertThat(delivered(b, other)).isTrue();
        assertThat(delivered(b, group)).isTrue();
        assertThat(delivered(b, MacAddress.parse("01:00:5e:00:00:02"))).isFalse();

        b.run(ControlCommands.CLASS_RX, ControlCommands.RX_ALLMULTI, (byte) 1);
        assertThat(delivered(b, MacAddress.parse("01:00:5e:00:00:02"))).isTrue();
        b.run(ControlCommands.CLASS_RX, ControlCommands.RX_NOMULTI, (byte) 1);
        assertThat(delivered(b, group)).as("NOMULTI wins over the table").isFalse();
        b.run(ControlCommands.CLASS_RX, ControlCommands.RX_NOBCAST, (byte) 1);
        assertThat(delivered(b, MacAddress.BROADCAST)).isFalse();
        b.run(ControlCommands.CLASS_RX, ControlCommands.RX_NOUNI, (byte) 1);
        assertThat(delivered(b, MAC)).isFalse();
        b.run(ControlCommands.CLASS_RX, ControlCommands.RX_NOUNI, (byte) 0);
        b.run(ControlCommands.CLASS_RX, ControlCommands.RX_ALLUNI, (byte) 1);
        assertThat(delivered(b, MacAddress.parse("52:54:00:00:00:01"))).isTrue();
        assertThat(b.net.stats().rxFiltered()).isEqualTo(6);

        b.net.reset();
        b.activate(NetBench.MODERN);
        assertThat(delivered(b, MacAddress.parse("52:54:00:00:00:01"))).as("reset: promiscuous again").isTrue();
    }

    @Test
    void vlanFilterDropsTaggedFramesOfVlansNotAdded() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.run(ControlCommands.CLASS_RX, ControlCommands.RX_PROMISC, (byte) 0);
        assertThat(deliveredTagged(b, 5)).isFalse();
        assertThat(b.run(ControlCommands.CLASS_VLAN, ControlCommands.VLAN_ADD, (byte) 5, (byte) 0)).isZero();
        assertThat(deliveredTagged(b, 5)).isTrue();
        assertThat(deliveredTagged(b, 6)).isFalse();
        b.run(ControlCommands.CLASS_VLAN, ControlCommands.VLAN_DEL, (byte) 5, (byte) 0);
        assertThat(deliveredTagged(b, 5)).isFalse();

        var noVlan = new NetBench(0).activate(NetBench.MODERN & ~NetFeatures.CTRL_VLAN);
        noVlan.run(ControlCommands.CLASS_RX, ControlCommands.RX_PROMISC, (byte) 0);
        assertThat(deliveredTagged(noVlan, 5)).as("no filter without CTRL_VLAN").isTrue();
    }

    private boolean delivered(NetBench b, MacAddress dst) {
        return deliver(b, frame(dst, 60));
    }

    private boolean deliveredTagged(NetBench b, int vid) {
        byte[] f = frame(MAC, 64);
        f[12] = (byte) 0x81;
        f[13] = 0;
        f[14] = (byte) (vid >>> 8);
        f[15] = (byte) vid;
        return deliver(b, f);
    }

    private boolean deliver(NetBench b, byte[] f) {
        b.rx().avail.clear();
        b.rx().avail.add(buffer(b, 1526));
        int before = b.rx().used.size();
        b.backend.receiver.receive(native_(f));
        return b.rx().used.size() > before;
    }
}
