package dev.jhv.virtio.net;

import java.util.Arrays;

/**
 * Which received frames the guest gets (virtio 1.2, 5.1.6.5): the rx mode flags, the MAC table (unicast entries
 * then multicast entries, each part with its overflow flag when the driver gave more than fit) and the VLAN
 * filter. Reset state as QEMU's: promiscuous, everything else off, empty table, no VLAN allowed (the VLAN filter
 * only applies when CTRL_VLAN was negotiated). Used on the device's I/O thread.
 */
final class RxFilter {
    /** Entries the MAC table holds, unicast and multicast together (QEMU's size). */
    static final int TABLE_ENTRIES = 64;
    static final int VLAN_IDS = 4096;
    private static final int ETHERTYPE_VLAN = 0x8100;

    boolean promisc = true;
    boolean allmulti;
    boolean alluni;
    boolean nomulti;
    boolean nouni;
    boolean nobcast;
    long[] unicast = new long[0];
    long[] multicast = new long[0];
    boolean uniOverflow;
    boolean multiOverflow;
    final long[] vlans = new long[VLAN_IDS / 64];

    void reset() {
        promisc = true;
        allmulti = alluni = nomulti = nouni = nobcast = false;
        unicast = new long[0];
        multicast = new long[0];
        uniOverflow = multiOverflow = false;
        Arrays.fill(vlans, 0);
    }

    void setVlan(int vid, boolean allowed) {
        if (allowed) {
            vlans[vid >>> 6] |= 1L << (vid & 63);
        } else {
            vlans[vid >>> 6] &= ~(1L << (vid & 63));
        }
    }

    boolean vlanAllowed(int vid) {
        return (vlans[vid >>> 6] & (1L << (vid & 63))) != 0;
    }

    /**
     * Whether the guest gets the Ethernet frame at {@code off} of {@code frame} ({@code len} bytes, at least 14),
     * for a NIC whose own address is {@code own}.
     */
    boolean accepts(byte[] frame, int off, int len, MacAddress own, boolean vlanFiltering) {
        if (promisc) {
            return true;
        }
        if (vlanFiltering && len >= 16 && NetHeader.u16be(frame, off + 12) == ETHERTYPE_VLAN
                && !vlanAllowed(NetHeader.u16be(frame, off + 14) & 0xfff)) {
            return false;
        }
        MacAddress dst = MacAddress.of(frame, off);
        if (dst.isMulticast()) {
            if (dst.equals(MacAddress.BROADCAST)) {
                return !nobcast;
            }
            if (nomulti) {
                return false;
            }
            return allmulti || multiOverflow || contains(multicast, dst.bits());
        }
        if (nouni) {
            return false;
        }
        return alluni || uniOverflow || dst.equals(own) || contains(unicast, dst.bits());
    }

    private static boolean contains(long[] table, long mac) {
        for (long m : table) {
            if (m == mac) {
                return true;
            }
        }
        return false;
    }

    /** The table as the state carries it: the unicast entries then the multicast ones, six bytes each. */
    byte[] tableBytes() {
        byte[] b = new byte[(unicast.length + multicast.length) * 6];
        int i = 0;
        for (long m : unicast) {
            new MacAddress(m).put(b, 6 * i++);
        }
        for (long m : multicast) {
            new MacAddress(m).put(b, 6 * i++);
        }
        return b;
    }

    void setTable(byte[] table, int firstMulti) {
        int n = table.length / 6;
        unicast = new long[firstMulti];
        multicast = new long[n - firstMulti];
        for (int i = 0; i < n; i++) {
            long m = MacAddress.of(table, 6 * i).bits();
            if (i < firstMulti) {
                unicast[i] = m;
            } else {
                multicast[i - firstMulti] = m;
            }
        }
    }

    /** The VLAN bitmap as the state carries it: 512 bytes, bit v of byte v/8 for VLAN id v. */
    byte[] vlanBytes() {
        byte[] b = new byte[VLAN_IDS / 8];
        for (int v = 0; v < VLAN_IDS; v++) {
            if (vlanAllowed(v)) {
                b[v >>> 3] |= (byte) (1 << (v & 7));
            }
        }
        return b;
    }

    void setVlans(byte[] b) {
        for (int v = 0; v < VLAN_IDS; v++) {
            setVlan(v, (b[v >>> 3] & (1 << (v & 7))) != 0);
        }
    }
}
