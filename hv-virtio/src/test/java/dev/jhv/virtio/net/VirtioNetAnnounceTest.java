package dev.jhv.virtio.net;

import org.junit.jupiter.api.Test;

import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

class VirtioNetAnnounceTest {
    @Test
    void rarpFrameHasQemusLayout() {
        byte[] f = Announcer.rarp(MacAddress.parse("52:54:00:12:34:56"));
        String hex = HexFormat.of().formatHex(f);
        assertThat(hex).isEqualTo("ffffffffffff" + "525400123456" + "8035" + "0001" + "0800" + "06" + "04" + "0003"
                + "525400123456" + "00000000" + "525400123456" + "00000000" + "00".repeat(18));
    }

    @Test
    void roundsAreTimedAsQemusDefaultsAndAskTheGuestToAnnounce() {
        var b = new NetBench(12).activate(NetBench.MODERN);
        b.net.announce();
        for (int i = 0; i < 4; i++) {
            assertThat(b.timer.runNext()).isTrue();
        }
        assertThat(b.timer.runNext()).as("five rounds in all").isFalse();

        assertThat(b.backend.sent).hasSize(5);
        byte[] expected = NetBench.concat(new byte[12], Announcer.rarp(NetBench.MAC));
        assertThat(b.backend.sent).allSatisfy(f -> assertThat(f).isEqualTo(expected));
        assertThat(b.timer.tasks).isEmpty();
        assertThat(b.context.configChanges).isEqualTo(5);
        assertThat(b.net.readConfig(6, 2) & VirtioNet.STATUS_ANNOUNCE).isNotZero();

        assertThat(b.run(ControlCommands.CLASS_ANNOUNCE, ControlCommands.ANNOUNCE_ACK)).isZero();
        assertThat(b.net.readConfig(6, 2)).isEqualTo(VirtioNet.STATUS_LINK_UP);
    }

    @Test
    void gapsGrowFromInitialByStepUpToMax() {
        var p = Announcer.Params.QEMU;
        assertThat(new long[] {p.gapBefore(4), p.gapBefore(3), p.gapBefore(2), p.gapBefore(1)})
                .containsExactly(50, 150, 250, 350);
        var capped = new Announcer.Params(50, 200, 5, 100);
        assertThat(capped.gapBefore(1)).isEqualTo(200);
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.net.announce();
        assertThat(b.timer.tasks).singleElement().extracting(NetBench.ManualTimer.Task::delay).isEqualTo(50L);
    }

    @Test
    void withoutGuestAnnounceOnlyRarpsAreSent() {
        var b = new NetBench(0).activate(NetBench.MODERN & ~NetFeatures.GUEST_ANNOUNCE);
        b.net.announce();
        assertThat(b.backend.sent).containsExactly(Announcer.rarp(NetBench.MAC));
        assertThat(b.context.configChanges).isZero();
    }

    @Test
    void announceWhilePausedStartsAtResume() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.net.pause();
        b.net.announce();
        assertThat(b.backend.sent).isEmpty();
        b.net.resume();
        assertThat(b.backend.sent).containsExactly(Announcer.rarp(NetBench.MAC));
        b.net.pause();
        b.net.resume();
        assertThat(b.backend.sent).as("a pause ended it; the next resume does not restart it").hasSize(1);
    }

    @Test
    void pauseAndResetEndTheAnnouncement() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.net.announce();
        b.net.pause();
        assertThat(b.timer.runNext()).isFalse();
        assertThat(b.backend.sent).hasSize(1);

        b.net.resume();
        b.net.announce();
        b.net.reset();
        while (b.timer.runNext()) {
            // cancelled rounds do not run
        }
        assertThat(b.backend.sent).hasSize(2);
    }
}
