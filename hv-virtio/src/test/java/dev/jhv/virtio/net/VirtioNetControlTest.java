package dev.jhv.virtio.net;

import dev.jhv.virtio.queue.DescriptorChain;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.jhv.virtio.net.ControlCommands.CLASS_ANNOUNCE;
import static dev.jhv.virtio.net.ControlCommands.CLASS_GUEST_OFFLOADS;
import static dev.jhv.virtio.net.ControlCommands.CLASS_MAC;
import static dev.jhv.virtio.net.ControlCommands.CLASS_MQ;
import static dev.jhv.virtio.net.ControlCommands.CLASS_RX;
import static dev.jhv.virtio.net.ControlCommands.CLASS_VLAN;
import static dev.jhv.virtio.net.ControlCommands.ERR;
import static dev.jhv.virtio.net.ControlCommands.OK;
import static org.assertj.core.api.Assertions.assertThat;

class VirtioNetControlTest {
    final NetBench b = new NetBench(12).activate(NetBench.MODERN | NetFeatures.GUEST_CSUM | NetFeatures.GUEST_TSO4);

    @Test
    void ackIsWrittenAndTheChainPushedWithOneByte() {
        DescriptorChain c = b.command(CLASS_RX, ControlCommands.RX_PROMISC, (byte) 0);
        b.ctrl().avail.add(c);
        b.net.queueNotified(VirtioNet.CTRL_QUEUE);
        assertThat(b.ctrl().used).containsExactly(new NetBench.Used(c, 1));
        assertThat(b.ctrl().interrupts).isEqualTo(1);
        assertThat(b.net.state().promisc()).isFalse();
    }

    @Test
    void commandsTheFeaturesDoNotAllowOrWithBadDataAreRefused() {
        var legacy = new NetBench(0).activate(NetFeatures.CTRL_VQ | NetFeatures.CTRL_RX);
        assertThat(legacy.run(CLASS_RX, ControlCommands.RX_ALLUNI, (byte) 1)).as("needs CTRL_RX_EXTRA").isEqualTo(ERR);
        assertThat(legacy.run(CLASS_VLAN, ControlCommands.VLAN_ADD, (byte) 1, (byte) 0)).isEqualTo(ERR);
        assertThat(legacy.run(CLASS_MAC, ControlCommands.MAC_ADDR_SET, new byte[6])).isEqualTo(ERR);
        assertThat(legacy.run(CLASS_ANNOUNCE, ControlCommands.ANNOUNCE_ACK)).isEqualTo(ERR);
        assertThat(legacy.net.state().alluni()).isFalse();

        assertThat(b.run(9, 0)).as("unknown class").isEqualTo(ERR);
        assertThat(b.run(CLASS_RX, 6, (byte) 1)).as("unknown rx command").isEqualTo(ERR);
        assertThat(b.run(CLASS_RX, ControlCommands.RX_PROMISC)).as("no data").isEqualTo(ERR);
        assertThat(b.run(CLASS_VLAN, ControlCommands.VLAN_ADD, (byte) 0, (byte) 0x10)).as("vid 4096").isEqualTo(ERR);
        assertThat(b.run(CLASS_MQ, ControlCommands.MQ_VQ_PAIRS_SET, (byte) 1, (byte) 0)).isEqualTo(OK);
        assertThat(b.run(CLASS_MQ, ControlCommands.MQ_VQ_PAIRS_SET, (byte) 2, (byte) 0)).isEqualTo(ERR);
    }

    @Test
    void addrSetChangesTheMacTheConfigShows() {
        MacAddress m = MacAddress.parse("02:11:22:33:44:55");
        assertThat(b.run(CLASS_MAC, ControlCommands.MAC_ADDR_SET, m.bytes())).isEqualTo(OK);
        assertThat(b.net.mac()).isEqualTo(m);
        assertThat(b.net.readConfig(0, 4)).isEqualTo(0x33221102);
        assertThat(b.net.readConfig(4, 2)).isEqualTo(0x5544);
        b.net.reset();
        assertThat(b.net.mac()).as("reset: the configured MAC").isEqualTo(NetBench.MAC);
    }

    @Test
    void macTableWithTooManyEntriesSetsTheOverflowFlagAndMalformedTablesChangeNothing() {
        int uni = RxFilter.TABLE_ENTRIES + 1;
        byte[] t = new byte[4 + 6 * uni + 4 + 6];
        t[0] = (byte) uni;
        t[4 + 6 * uni] = 1;
        t[4 + 6 * uni + 4] = 1; // 01:00:00:00:00:00
        assertThat(b.run(CLASS_MAC, ControlCommands.MAC_TABLE_SET, t)).isEqualTo(OK);
        var s = b.net.state();
        assertThat(s.uniOverflow()).isTrue();
        assertThat(s.multiOverflow()).isFalse();
        assertThat(s.macTable()).hasSize(6);
        assertThat(s.firstMulti()).isZero();

        byte[] shortTable = {2, 0, 0, 0, 1, 2, 3, 4, 5, 6};
        assertThat(b.run(CLASS_MAC, ControlCommands.MAC_TABLE_SET, shortTable)).isEqualTo(ERR);
        byte[] trailing = {0, 0, 0, 0, 0, 0, 0, 0, 9};
        assertThat(b.run(CLASS_MAC, ControlCommands.MAC_TABLE_SET, trailing)).isEqualTo(ERR);
        assertThat(b.net.state().uniOverflow()).as("unchanged").isTrue();
    }

    @Test
    void guestOffloadsReachTheBackend() {
        assertThat(b.backend.offloads).containsExactly(true, true, false, false, false);
        byte[] csumOnly = {(byte) NetFeatures.GUEST_CSUM, 0, 0, 0, 0, 0, 0, 0};
        assertThat(b.run(CLASS_GUEST_OFFLOADS, ControlCommands.GUEST_OFFLOADS_SET, csumOnly)).isEqualTo(OK);
        assertThat(b.backend.offloads).containsExactly(true, false, false, false, false);
        byte[] tso6 = {(byte) NetFeatures.GUEST_TSO6, 1, 0, 0, 0, 0, 0, 0};
        assertThat(b.run(CLASS_GUEST_OFFLOADS, ControlCommands.GUEST_OFFLOADS_SET, tso6))
                .as("not negotiated").isEqualTo(ERR);
        assertThat(b.net.state().guestOffloads()).isEqualTo(NetFeatures.GUEST_CSUM);
    }

    @Test
    void requestWithoutRoomForTheAckIsADriverError() {
        b.ctrl().avail.add(b.chain(List.of(b.put(new byte[] {0, 0, 1})), List.of()));
        b.net.queueNotified(VirtioNet.CTRL_QUEUE);
        assertThat(b.context.resets).singleElement().asString().contains("control");
    }
}
