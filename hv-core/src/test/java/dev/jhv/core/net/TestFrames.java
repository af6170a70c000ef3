package dev.jhv.core.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The test's guest: builds and parses the few frames the backend tests exchange (Ethernet, ARP, IPv4, ICMP echo,
 * UDP, a DHCP DISCOVER), and answers ARP, ping and UDP port 7 like testos's network mode.
 */
final class TestFrames {
    static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};
    static final int ETH_IP = 0x0800;
    static final int ETH_ARP = 0x0806;
    static final int IP_ICMP = 1;
    static final int IP_UDP = 17;

    private TestFrames() {
    }

    /** One parsed frame; the IPv4 and UDP fields are 0 for frames that are not such. */
    record Frame(byte[] bytes, byte[] dst, byte[] src, int type, int ipSrc, int ipDst, int proto, int srcPort,
                 int dstPort, byte[] payload) {
        static Frame parse(byte[] b) {
            ByteBuffer bb = ByteBuffer.wrap(b);
            byte[] dst = new byte[6];
            byte[] src = new byte[6];
            bb.get(dst).get(src);
            int type = bb.getShort() & 0xffff;
            if (type != ETH_IP || b.length < 34) {
                return new Frame(b, dst, src, type, 0, 0, 0, 0, 0, new byte[0]);
            }
            int ihl = (b[14] & 0xf) * 4;
            int total = bb.getShort(16) & 0xffff;
            int proto = b[23] & 0xff;
            int ipSrc = bb.getInt(26);
            int ipDst = bb.getInt(30);
            int l4 = 14 + ihl;
            int end = Math.min(b.length, 14 + total);
            if (proto == IP_UDP && end >= l4 + 8) {
                int sp = bb.getShort(l4) & 0xffff;
                int dp = bb.getShort(l4 + 2) & 0xffff;
                return new Frame(b, dst, src, type, ipSrc, ipDst, proto, sp, dp,
                        java.util.Arrays.copyOfRange(b, l4 + 8, end));
            }
            return new Frame(b, dst, src, type, ipSrc, ipDst, proto, 0, 0, java.util.Arrays.copyOfRange(b, l4, end));
        }

        boolean udp(int port) {
            return proto == IP_UDP && dstPort == port;
        }
    }

    static byte[] ethernet(byte[] dst, byte[] src, int type, byte[] payload) {
        return ByteBuffer.allocate(14 + payload.length).put(dst).put(src).putShort((short) type).put(payload).array();
    }

    static byte[] ipv4(int src, int dst, int proto, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(20 + payload.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + payload.length)).putShort((short) 1)
                .putShort((short) 0x4000).put((byte) 64).put((byte) proto).putShort((short) 0).putInt(src).putInt(dst);
        b.putShort(10, (short) checksum(b.array(), 0, 20));
        return b.put(payload).array();
    }

    /** UDP with no checksum (allowed over IPv4). */
    static byte[] udp(int srcPort, int dstPort, byte[] payload) {
        return ByteBuffer.allocate(8 + payload.length).putShort((short) srcPort).putShort((short) dstPort)
                .putShort((short) (8 + payload.length)).putShort((short) 0).put(payload).array();
    }

    static int checksum(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i < len; i += 2) {
            int hi = b[off + i] & 0xff;
            int lo = i + 1 < len ? b[off + i + 1] & 0xff : 0;
            sum += (hi << 8) | lo;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    /** A DHCP DISCOVER from {@code mac} (0.0.0.0:68 to the broadcast :67). */
    static byte[] dhcpDiscover(byte[] mac, int xid) {
        ByteBuffer d = ByteBuffer.allocate(300);
        d.put((byte) 1).put((byte) 1).put((byte) 6).put((byte) 0).putInt(xid).putShort((short) 0)
                .putShort((short) 0x8000).putInt(0).putInt(0).putInt(0).putInt(0).put(mac);
        d.position(236);
        d.putInt(0x63825363).put(new byte[] {53, 1, 1, (byte) 255});
        return ethernet(BROADCAST, mac, ETH_IP, ipv4(0, -1, IP_UDP, udp(68, 67, d.array())));
    }

    /** The DHCP message type (option 53) of a BOOTP reply's payload, and its yiaddr, or null when it is none. */
    record DhcpReply(int type, int yiaddr) {
        static DhcpReply parse(Frame f, int xid) {
            if (!f.udp(68) || f.payload().length < 240) {
                return null;
            }
            ByteBuffer d = ByteBuffer.wrap(f.payload());
            if (d.get(0) != 2 || d.getInt(4) != xid || d.getInt(236) != 0x63825363) {
                return null;
            }
            for (int i = 240; i + 1 < f.payload().length && f.payload()[i] != (byte) 255; ) {
                int opt = f.payload()[i] & 0xff;
                if (opt == 0) {
                    i++;
                    continue;
                }
                int len = f.payload()[i + 1] & 0xff;
                if (opt == 53) {
                    return new DhcpReply(f.payload()[i + 2], d.getInt(16));
                }
                i += 2 + len;
            }
            return null;
        }
    }

    /** The guest's answer to {@code f}: ARP for its address, ping, UDP port 7 echo; null when none. */
    static byte[] answer(Frame f, byte[] mac, int ip) {
        byte[] b = f.bytes();
        if (f.type() == ETH_ARP && b.length >= 42) {
            ByteBuffer a = ByteBuffer.wrap(b);
            if (a.getShort(20) == 1 && a.getInt(38) == ip) {
                ByteBuffer r = ByteBuffer.allocate(28);
                r.putShort((short) 1).putShort((short) ETH_IP).put((byte) 6).put((byte) 4).putShort((short) 2)
                        .put(mac).putInt(ip).put(b, 22, 6).putInt(a.getInt(28));
                return ethernet(java.util.Arrays.copyOfRange(b, 22, 28), mac, ETH_ARP, r.array());
            }
            return null;
        }
        if (f.type() != ETH_IP || f.ipDst() != ip) {
            return null;
        }
        if (f.proto() == IP_ICMP && f.payload().length >= 8 && f.payload()[0] == 8) {
            byte[] icmp = f.payload().clone();
            icmp[0] = 0;
            icmp[2] = 0;
            icmp[3] = 0;
            int c = checksum(icmp, 0, icmp.length);
            icmp[2] = (byte) (c >> 8);
            icmp[3] = (byte) c;
            return ethernet(f.src(), mac, ETH_IP, ipv4(ip, f.ipSrc(), IP_ICMP, icmp));
        }
        if (f.udp(7)) {
            return ethernet(f.src(), mac, ETH_IP, ipv4(ip, f.ipSrc(), IP_UDP, udp(7, f.srcPort(), f.payload())));
        }
        return null;
    }

    static int ip(int a, int b, int c, int d) {
        return (a << 24) | (b << 16) | (c << 8) | d;
    }

    /**
     * The receiving side of a backend under test: queues each frame (vnet header stripped); with {@code answerAs}
     * set it answers ARP, ping and UDP echo through {@code backend} at once.
     */
    static final class Guest implements NetBackend.Receiver {
        final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
        private final NetBackend backend;
        private final byte[] mac;
        private final int ip;
        private final Arena arena = Arena.ofShared();

        Guest(NetBackend backend, byte[] mac, int ip) {
            this.backend = backend;
            this.mac = mac;
            this.ip = ip;
        }

        @Override
        public boolean receive(MemorySegment frame) {
            int h = backend.vnetHeaderLength();
            byte[] b = frame.asSlice(h).toArray(ValueLayout.JAVA_BYTE);
            Frame f = Frame.parse(b);
            byte[] reply = answer(f, mac, ip);
            if (reply != null) {
                send(reply);
            }
            frames.add(f);
            return true;
        }

        @Override
        public void writable() {
        }

        /** Sends a frame as a device would: a (zeroed) vnet header part, then the frame, from native memory. */
        boolean send(byte[] frame) {
            MemorySegment hdr = arena.allocate(Math.max(1, backend.vnetHeaderLength())).asSlice(0,
                    backend.vnetHeaderLength());
            MemorySegment body = arena.allocate(frame.length);
            body.copyFrom(MemorySegment.ofArray(frame));
            return backend.send(hdr.byteSize() == 0 ? List.of(body) : List.of(hdr, body));
        }

        /** The first queued frame that matches, waiting up to {@code seconds}; null when none came. */
        Frame await(Predicate<Frame> match, int seconds) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (true) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return null;
                }
                Frame f = frames.poll(left, TimeUnit.NANOSECONDS);
                if (f != null && match.test(f)) {
                    return f;
                }
            }
        }
    }
}
