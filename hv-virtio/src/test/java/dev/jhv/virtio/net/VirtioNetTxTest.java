package dev.jhv.virtio.net;

import dev.jhv.virtio.device.VirtioFeatures;
import dev.jhv.virtio.queue.DescriptorChain;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static dev.jhv.virtio.net.NetBench.MAC;
import static dev.jhv.virtio.net.NetBench.concat;
import static dev.jhv.virtio.net.NetBench.frame;
import static org.assertj.core.api.Assertions.assertThat;

class VirtioNetTxTest {
    static byte[] header(int flags, int gso, int csumStart, int csumOffset, int length) {
        var h = new NetHeader(flags, gso, 0, gso == 0 ? 0 : 1448, csumStart, csumOffset, 0);
        byte[] b = new byte[length];
        h.write(b, 0, length);
        return b;
    }

    /** Header and frame split over three buffers, the header not on a buffer edge. */
    static DescriptorChain txChain(NetBench b, byte[] header, byte[] frame) {
        byte[] all = concat(header, frame);
        return b.chain(List.of(b.put(Arrays.copyOfRange(all, 0, 7)), b.put(Arrays.copyOfRange(all, 7, 40)),
                b.put(Arrays.copyOfRange(all, 40, all.length))), List.of());
    }

    @Test
    void plainBackendGetsTheFrameWithoutTheHeader() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        byte[] f = frame(MacAddress.BROADCAST, 100);
        DescriptorChain c = txChain(b, header(0, 0, 0, 0, 12), f);
        b.tx().avail.add(c);
        b.net.queueNotified(VirtioNet.TX_QUEUE);

        assertThat(b.backend.sent).containsExactly(f);
        assertThat(b.tx().used).containsExactly(new NetBench.Used(c, 0));
        assertThat(b.tx().interrupts).isEqualTo(1);
        assertThat(b.net.stats().txFrames()).isEqualTo(1);
    }

    /** A UDP datagram in IPv4 whose checksum field holds the pseudo-header sum, as a driver leaves it. */
    static byte[] udpFrame() {
        byte[] f = frame(MAC, 14 + 20 + 8 + 11);
        byte[] ip = {0x45, 0, 0, 39, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2};
        System.arraycopy(ip, 0, f, 14, 20);
        int udp = 34;
        f[udp] = 0x30;
        f[udp + 1] = 0x39; // port 12345
        f[udp + 3] = 7;    // to port 7
        f[udp + 5] = 19;   // length 19
        byte[] payload = "hello virt!".getBytes();
        System.arraycopy(payload, 0, f, udp + 8, payload.length);
        long pseudo = InternetChecksum.sum(f, 26, 8) + 17 + 19;
        int p = InternetChecksum.fold(pseudo);
        f[udp + 6] = (byte) (p >>> 8);
        f[udp + 7] = (byte) p;
        return f;
    }

    @Test
    void plainBackendGetsTheChecksumTheDriverAskedFor() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        byte[] f = udpFrame();
        b.tx().avail.add(txChain(b, header(NetHeader.F_NEEDS_CSUM, 0, 34, 6, 12), f));
        b.net.queueNotified(VirtioNet.TX_QUEUE);

        assertThat(b.backend.sent).hasSize(1);
        byte[] out = b.backend.sent.getFirst();
        assertThat(Arrays.copyOfRange(out, 0, 40)).isEqualTo(Arrays.copyOfRange(f, 0, 40));
        assertThat(NetHeader.u16be(out, 40)).as("the checksum").isNotEqualTo(NetHeader.u16be(f, 40));
        // A receiver's check: pseudo header plus the whole datagram sums to all ones.
        long check = InternetChecksum.sum(out, 26, 8) + 17 + 19 + InternetChecksum.sum(out, 34, 19);
        assertThat(InternetChecksum.fold(check)).isEqualTo(0xffff);
    }

    @Test
    void checksumPlaceOutsideTheFrameIsDropped() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.tx().avail.add(txChain(b, header(NetHeader.F_NEEDS_CSUM, 0, 50, 6, 12), frame(MAC, 56)));
        b.net.queueNotified(VirtioNet.TX_QUEUE);

        assertThat(b.backend.sent).isEmpty();
        assertThat(b.tx().used).hasSize(1);
        assertThat(b.net.stats().txDropped()).isEqualTo(1);
    }

    @Test
    void vnetHeaderBackendGetsTheHeaderAndALegacyHeaderGrowsToTwelveBytes() {
        var b = new NetBench(12).activate(NetFeatures.CSUM | NetFeatures.HOST_TSO4); // legacy: 10-byte header
        byte[] f = frame(MAC, 3000);
        byte[] h10 = header(NetHeader.F_NEEDS_CSUM, NetHeader.GSO_TCPV4, 34, 16, 10);
        b.tx().avail.add(txChain(b, h10, f));
        b.net.queueNotified(VirtioNet.TX_QUEUE);

        assertThat(b.backend.sent).containsExactly(concat(h10, new byte[2], f));
    }

    @Test
    void gsoFramesTheFeaturesDoNotAllowAreDropped() {
        var tap = new NetBench(12).activate(NetBench.MODERN | NetFeatures.HOST_TSO4);
        tap.tx().avail.add(txChain(tap, header(0, NetHeader.GSO_TCPV6, 0, 0, 12), frame(MAC, 3000)));
        tap.tx().avail.add(txChain(tap, header(0, NetHeader.GSO_TCPV4 | NetHeader.GSO_ECN, 0, 0, 12),
                frame(MAC, 3000)));
        tap.net.queueNotified(VirtioNet.TX_QUEUE);
        assertThat(tap.backend.sent).isEmpty();
        assertThat(tap.net.stats().txDropped()).isEqualTo(2);

        var plain = new NetBench(0).activate(NetBench.MODERN | NetFeatures.HOST_TSO4);
        plain.tx().avail.add(txChain(plain, header(0, NetHeader.GSO_TCPV4, 0, 0, 12), frame(MAC, 3000)));
        plain.net.queueNotified(VirtioNet.TX_QUEUE);
        assertThat(plain.backend.sent).as("no segmentation without a vnet header").isEmpty();
        assertThat(plain.tx().used).hasSize(1);
    }

    @Test
    void frameLongerThan64KiBIsDroppedAndCounted() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.tx().avail.add(txChain(b, header(0, 0, 0, 0, 12), frame(MAC, TxPath.MAX_FRAME + 1)));
        b.tx().avail.add(txChain(b, header(0, 0, 0, 0, 12), frame(MAC, TxPath.MAX_FRAME)));
        b.net.queueNotified(VirtioNet.TX_QUEUE);

        assertThat(b.backend.sent).hasSize(1);
        assertThat(b.net.stats().txDropped()).isEqualTo(1);
        assertThat(b.tx().used).hasSize(2);
    }

    @Test
    void chainShorterThanTheHeaderAsksForAReset() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.tx().avail.add(b.chain(List.of(b.put(new byte[11])), List.of()));
        b.tx().avail.add(txChain(b, header(0, 0, 0, 0, 12), frame(MAC, 60)));
        b.net.queueNotified(VirtioNet.TX_QUEUE);

        assertThat(b.context.resets).singleElement().asString().contains("header incorrect");
        assertThat(b.backend.sent).isEmpty();
        b.net.queueNotified(VirtioNet.TX_QUEUE);
        assertThat(b.tx().avail).as("a broken device takes nothing more").hasSize(1);

        b.net.reset();
        b.activate(NetBench.MODERN);
        assertThat(b.backend.sent).as("after the reset it works again").hasSize(1);
    }

    @Test
    void busyBackendHoldsTheChainUntilWritable() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.backend.accept = false;
        byte[] f1 = frame(MAC, 60);
        byte[] f2 = frame(MacAddress.BROADCAST, 70);
        b.tx().avail.add(txChain(b, header(0, 0, 0, 0, 12), f1));
        b.tx().avail.add(txChain(b, header(0, 0, 0, 0, 12), f2));
        b.net.queueNotified(VirtioNet.TX_QUEUE);
        assertThat(b.tx().used).isEmpty();
        assertThat(b.tx().avail).as("no more popped while the backend is busy").hasSize(1);

        b.backend.accept = true;
        b.backend.receiver.writable();
        assertThat(b.backend.sent).containsExactly(f1, f2);
        assertThat(b.tx().used).hasSize(2);
    }

    @Test
    void moreChainsThanOneBatchAreAllSent() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        int n = VirtioNet.TX_BATCH + 10;
        for (int i = 0; i < n; i++) {
            b.tx().avail.add(txChain(b, header(0, 0, 0, 0, 12), frame(MAC, 60)));
        }
        b.net.queueNotified(VirtioNet.TX_QUEUE);
        assertThat(b.backend.sent).hasSize(n);
        assertThat(b.tx().used).hasSize(n);
        assertThat(b.tx().interrupts).as("one per batch").isEqualTo(2);
    }

    @Test
    void pauseDropsTheHeldChainSoNothingIsInFlight() {
        var b = new NetBench(0).activate(NetBench.MODERN);
        b.backend.accept = false;
        b.tx().avail.add(txChain(b, header(0, 0, 0, 0, 12), frame(MAC, 60)));
        b.net.queueNotified(VirtioNet.TX_QUEUE);
        b.net.pause();
        assertThat(b.tx().used).hasSize(1);
        b.backend.accept = true;
        b.net.resume();
        assertThat(b.backend.sent).isEmpty();
    }

    @Test
    void legacyDriverWithoutMergeableBuffersUsesTenByteHeaders() {
        assertThat(VirtioNet.headerLength(0)).isEqualTo(10);
        assertThat(VirtioNet.headerLength(NetFeatures.MRG_RXBUF)).isEqualTo(12);
        assertThat(VirtioNet.headerLength(VirtioFeatures.VERSION_1)).isEqualTo(12);
        var b = new NetBench(0).activate(NetFeatures.MAC);
        byte[] f = frame(MAC, 60);
        b.tx().avail.add(txChain(b, header(0, 0, 0, 0, 10), f));
        b.net.queueNotified(VirtioNet.TX_QUEUE);
        assertThat(b.backend.sent).containsExactly(f);
    }
}
