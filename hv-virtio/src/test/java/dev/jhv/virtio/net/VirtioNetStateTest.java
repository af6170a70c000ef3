package dev.jhv.virtio.net;

import dev.jhv.core.vmstate.RecordDraft;
import dev.jhv.core.vmstate.VMStateRoundTrip;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VirtioNetStateTest {
    static RecordDraft<VirtioNet.State> draft(VirtioNet n) {
        return VirtioNet.VMSTATE.bind(n::state, n::restore);
    }

    static VirtioNet fresh() {
        return new NetBench(0).net;
    }

    @Test
    void configuredDeviceRoundTripsWithEverySubsectionOnAndOff() {
        var b = new NetBench(12).activate(NetBench.MODERN | NetFeatures.GUEST_CSUM);
        b.run(ControlCommands.CLASS_RX, ControlCommands.RX_PROMISC, (byte) 0);
        b.run(ControlCommands.CLASS_RX, ControlCommands.RX_NOBCAST, (byte) 1);
        byte[] table = {1, 0, 0, 0, 2, 0, 0, 0, 0, 9, 1, 0, 0, 0, 1, 0, 0x5e, 0, 0, 1};
        b.run(ControlCommands.CLASS_MAC, ControlCommands.MAC_TABLE_SET, table);
        b.run(ControlCommands.CLASS_VLAN, ControlCommands.VLAN_ADD, (byte) 0xff, (byte) 0x0f);
        b.run(ControlCommands.CLASS_GUEST_OFFLOADS, ControlCommands.GUEST_OFFLOADS_SET,
                (byte) NetFeatures.GUEST_CSUM, (byte) 0, (byte) 0, (byte) 0, (byte) 0, (byte) 0, (byte) 0, (byte) 0);
        b.run(ControlCommands.CLASS_MAC, ControlCommands.MAC_ADDR_SET, MacAddress.parse("02:00:00:00:00:07").bytes());

        assertThat(VMStateRoundTrip.check(VirtioNet.VMSTATE.description(), draft(b.net), () -> draft(fresh())))
                .isGreaterThan(1);

        var target = fresh();
        byte[] saved = VirtioNet.VMSTATE.save(b.net.state());
        target.restore(VirtioNet.VMSTATE.load(saved, 1, target.state()));
        var s = target.state();
        assertThat(target.mac()).isEqualTo(MacAddress.parse("02:00:00:00:00:07"));
        assertThat(s.promisc()).isFalse();
        assertThat(s.nobcast()).isTrue();
        assertThat(s.macTable()).hasSize(12);
        assertThat(s.firstMulti()).isEqualTo(1);
        assertThat(s.vlans()[4095 / 8]).isEqualTo((byte) 0x80);
        assertThat(s.guestOffloads()).isEqualTo(NetFeatures.GUEST_CSUM);
    }

    @Test
    void randomStatesRoundTrip() {
        int checked = 0;
        for (long seed = 1; seed < 40; seed++) {
            var d = draft(fresh());
            d.pull(fresh().state());
            VMStateRoundTrip.randomise(VirtioNet.VMSTATE.description(), d, seed);
            VirtioNet.State s = fit(d.build());
            if (s.invalid() != null) {
                continue;
            }
            var n = fresh();
            n.restore(s);
            VMStateRoundTrip.check(VirtioNet.VMSTATE.description(), draft(n), () -> draft(fresh()));
            checked++;
        }
        assertThat(checked).as("random states the device accepts").isGreaterThan(10);
    }

    /** A random state bent into what a device can hold (random lengths and bits mostly cannot be). */
    static VirtioNet.State fit(VirtioNet.State r) {
        int entries = Math.min(r.macTable().length / 6, RxFilter.TABLE_ENTRIES);
        byte[] table = java.util.Arrays.copyOf(r.macTable(), 6 * entries);
        long offloads = r.guestOffloads() % 3 == 0 ? -1 : r.guestOffloads() & NetFeatures.GUEST_OFFLOADS;
        return new VirtioNet.State(r.mac(), r.status() & 3, r.promisc(), r.allmulti(), r.alluni(), r.nomulti(),
                r.nouni(), r.nobcast(), table, entries == 0 ? 0 : Math.floorMod(r.firstMulti(), entries + 1),
                r.uniOverflow(), r.multiOverflow(), r.vlans(), offloads);
    }

    @Test
    void impossibleStatesAreRefused() {
        var good = fresh().state();
        var badTable = new VirtioNet.State(good.mac(), 1, true, false, false, false, false, false, new byte[7], 0,
                false, false, good.vlans(), -1);
        assertThatThrownBy(() -> fresh().restore(badTable)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mac_table");
        var badMulti = new VirtioNet.State(good.mac(), 1, true, false, false, false, false, false, new byte[6], 2,
                false, false, good.vlans(), -1);
        assertThatThrownBy(() -> fresh().restore(badMulti)).hasMessageContaining("first_multi");
        var badStatus = new VirtioNet.State(good.mac(), 4, true, false, false, false, false, false, new byte[0], 0,
                false, false, good.vlans(), -1);
        assertThatThrownBy(() -> fresh().restore(badStatus)).hasMessageContaining("status");
    }
}
