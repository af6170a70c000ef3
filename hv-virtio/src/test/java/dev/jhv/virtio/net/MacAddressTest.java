package dev.jhv.virtio.net;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MacAddressTest {
    @Test
    void parsesAndPrintsQemusSpelling() {
        var m = MacAddress.parse("52:54:00:AB:cd:0f");
        assertThat(m.toString()).isEqualTo("52:54:00:ab:cd:0f");
        assertThat(m.bits()).isEqualTo(0x525400abcd0fL);
        assertThat(MacAddress.parse("52-54-00-ab-cd-0f")).isEqualTo(m);
        assertThat(MacAddress.of(m.bytes(), 0)).isEqualTo(m);
        assertThat(m.isMulticast()).isFalse();
        assertThat(MacAddress.parse("01:00:5e:00:00:01").isMulticast()).isTrue();
    }

    @Test
    void textThatIsNoMacGivesAClearError() {
        for (String bad : new String[] {"", "52:54:00:12:34", "52:54:00:12:34:56:78", "52:54:00:12:34:5g",
                "525400123456", "52:54:00:12:34:567", "+2:54:00:12:34:56"}) {
            assertThatThrownBy(() -> MacAddress.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("mac '" + bad + "' is not a MAC address");
        }
    }

    @Test
    void allocatorCountsUpFromQemusFirstAddressSkippingClaimedOnes() {
        var a = new MacAllocator();
        a.claim(MacAddress.parse("52:54:00:12:34:57"));
        a.claim(MacAddress.parse("02:00:00:00:00:58")); // outside the range: no effect
        assertThat(a.next()).hasToString("52:54:00:12:34:56");
        assertThat(a.next()).hasToString("52:54:00:12:34:58");
        assertThat(a.next()).hasToString("52:54:00:12:34:59");
    }

    @Test
    void deviceOffersOffloadsOnlyWithAVnetHeader() {
        var tap = new NetBench(12).net.deviceFeatures();
        var plain = new NetBench(0).net.deviceFeatures();
        assertThat(tap & NetFeatures.HOST_TSO4).isNotZero();
        assertThat(tap & NetFeatures.GUEST_CSUM).isNotZero();
        assertThat(plain & (NetFeatures.CSUM | NetFeatures.GUEST_CSUM | NetFeatures.HOST_TSO4
                | NetFeatures.HOST_TSO6 | NetFeatures.GUEST_TSO4 | NetFeatures.HOST_UFO)).isZero();
        assertThat(plain & NetFeatures.MRG_RXBUF).isNotZero();
        assertThat(plain & NetFeatures.CTRL_VQ).isNotZero();
        assertThat(plain & ~0xffffffL).as("device bits only").isZero();
    }

    @Test
    void configShowsMacStatusAndOnePair() {
        var n = new NetBench(0).net;
        assertThat(n.readConfig(0, 1)).isEqualTo(0x52);
        assertThat(n.readConfig(5, 1)).isEqualTo(0x56);
        assertThat(n.readConfig(6, 2)).isEqualTo(VirtioNet.STATUS_LINK_UP);
        assertThat(n.readConfig(8, 2)).isEqualTo(1);
        assertThat(n.readConfig(10, 4)).as("past the end").isZero();
        n.writeConfig(0, 4, 0x44332202); // a legacy driver setting its MAC
        assertThat(n.mac()).hasToString("02:22:33:44:34:56");
    }
}
