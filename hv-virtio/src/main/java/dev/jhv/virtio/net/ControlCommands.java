package dev.jhv.virtio.net;

import dev.jhv.core.memory.GuestMemory;
import dev.jhv.virtio.queue.DescriptorChain;

/**
 * The control queue's commands (virtio 1.2, 5.1.6.5): each chain holds class, command and the command's data in
 * its readable part and the one-byte ack in its writable part. A command the negotiated features do not allow, or
 * whose data does not fit it, is acked with ERR and changes nothing. Used on the device's I/O thread.
 */
final class ControlCommands {
    static final int OK = 0;
    static final int ERR = 1;

    static final int CLASS_RX = 0;
    static final int RX_PROMISC = 0;
    static final int RX_ALLMULTI = 1;
    static final int RX_ALLUNI = 2;
    static final int RX_NOMULTI = 3;
    static final int RX_NOUNI = 4;
    static final int RX_NOBCAST = 5;
    static final int CLASS_MAC = 1;
    static final int MAC_TABLE_SET = 0;
    static final int MAC_ADDR_SET = 1;
    static final int CLASS_VLAN = 2;
    static final int VLAN_ADD = 0;
    static final int VLAN_DEL = 1;
    static final int CLASS_ANNOUNCE = 3;
    static final int ANNOUNCE_ACK = 0;
    static final int CLASS_MQ = 4;
    static final int MQ_VQ_PAIRS_SET = 0;
    static final int CLASS_GUEST_OFFLOADS = 5;
    static final int GUEST_OFFLOADS_SET = 0;

    /** Data longer than any command's (two full MAC tables and their counts) is not read. */
    private static final int MAX_DATA = 8 + 6 * RxFilter.TABLE_ENTRIES + 4096;

    /** The device side the commands change. */
    interface Target {
        RxFilter filter();

        void setMac(MacAddress mac);

        void announceAcked();

        /** Sets the receive offloads; false when {@code offloads} has bits not negotiated. */
        boolean setGuestOffloads(long offloads);
    }


    private final GuestMemory memory;
    private final long features;
    private final Target target;

    ControlCommands(GuestMemory memory, long features, Target target) {
        this.memory = memory;
        this.features = features;
        this.target = target;
    }

    /** Runs the command of {@code chain} and writes its ack. @return the bytes written (1) */
    int handle(DescriptorChain chain) throws DriverError {
        if (chain.readableLength() < 2 || chain.writableLength() < 1) {
            throw new DriverError("virtio-net control request without its header or ack byte (chain "
                    + chain.head() + ")");
        }
        byte[] head = new byte[2];
        ChainIo.read(memory, chain.readable(), 0, head, 0, 2);
        long dataLength = chain.readableLength() - 2;
        byte[] data = new byte[(int) Math.min(dataLength, MAX_DATA)];
        ChainIo.read(memory, chain.readable(), 2, data, 0, data.length);
        int ack = dataLength > MAX_DATA ? ERR : run(head[0] & 0xff, head[1] & 0xff, data);
        ChainIo.write(memory, chain.writable(), 0, new byte[] {(byte) ack}, 0, 1);
        return 1;
    }

    private boolean has(long bit) {
        return (features & bit) != 0;
    }

    private int run(int cls, int cmd, byte[] data) {
        boolean ok = switch (cls) {
            case CLASS_RX -> has(NetFeatures.CTRL_RX) && rxMode(cmd, data);
            case CLASS_MAC -> mac(cmd, data);
            case CLASS_VLAN -> has(NetFeatures.CTRL_VLAN) && vlan(cmd, data);
            case CLASS_ANNOUNCE -> {
                if (!has(NetFeatures.GUEST_ANNOUNCE) || cmd != ANNOUNCE_ACK) {
                    yield false;
                }
                target.announceAcked();
                yield true;
            }
            // One queue pair only: the driver may set the count it already has.
            case CLASS_MQ -> cmd == MQ_VQ_PAIRS_SET && data.length == 2 && NetHeader.u16(data, 0) == 1;
            case CLASS_GUEST_OFFLOADS -> has(NetFeatures.CTRL_GUEST_OFFLOADS) && cmd == GUEST_OFFLOADS_SET
                    && data.length == 8 && target.setGuestOffloads(le64(data));
            default -> false;
        };
        return ok ? OK : ERR;
    }

    private boolean rxMode(int cmd, byte[] data) {
        if (data.length != 1 || (cmd > RX_ALLMULTI && !has(NetFeatures.CTRL_RX_EXTRA))) {
            return false;
        }
        boolean on = data[0] != 0;
        RxFilter f = target.filter();
        switch (cmd) {
            case RX_PROMISC -> f.promisc = on;
            case RX_ALLMULTI -> f.allmulti = on;
            case RX_ALLUNI -> f.alluni = on;
            case RX_NOMULTI -> f.nomulti = on;
            case RX_NOUNI -> f.nouni = on;
            case RX_NOBCAST -> f.nobcast = on;
            default -> {
                return false;
            }
        }
        return true;
    }

    private boolean mac(int cmd, byte[] data) {
        if (cmd == MAC_ADDR_SET) {
            if (!has(NetFeatures.CTRL_MAC_ADDR) || data.length != 6) {
                return false;
            }
            target.setMac(MacAddress.of(data, 0));
            return true;
        }
        return cmd == MAC_TABLE_SET && has(NetFeatures.CTRL_RX) && macTable(data);
    }

    /** Two tables, each a 32-bit count and that many addresses: unicast, then multicast; nothing else after. */
    private boolean macTable(byte[] data) {
        if (data.length < 4) {
            return false;
        }
        long uni = le32(data, 0);
        long multiAt = 4 + 6 * uni;
        if (multiAt + 4 > data.length) {
            return false;
        }
        long multi = le32(data, (int) multiAt);
        if (multiAt + 4 + 6 * multi != data.length) {
            return false;
        }
        RxFilter f = target.filter();
        f.uniOverflow = uni > RxFilter.TABLE_ENTRIES;
        int keptUni = f.uniOverflow ? 0 : (int) uni;
        f.multiOverflow = keptUni + multi > RxFilter.TABLE_ENTRIES;
        int keptMulti = f.multiOverflow ? 0 : (int) multi;
        f.unicast = macs(data, 4, keptUni);
        f.multicast = macs(data, (int) multiAt + 4, keptMulti);
        return true;
    }

    private static long[] macs(byte[] data, int off, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = MacAddress.of(data, off + 6 * i).bits();
        }
        return out;
    }

    private boolean vlan(int cmd, byte[] data) {
        if (data.length != 2 || (cmd != VLAN_ADD && cmd != VLAN_DEL)) {
            return false;
        }
        int vid = NetHeader.u16(data, 0);
        if (vid >= RxFilter.VLAN_IDS) {
            return false;
        }
        target.filter().setVlan(vid, cmd == VLAN_ADD);
        return true;
    }

    private static long le32(byte[] b, int off) {
        return (NetHeader.u16(b, off) | (long) NetHeader.u16(b, off + 2) << 16) & 0xffff_ffffL;
    }

    private static long le64(byte[] b, int off) {
        return le32(b, off) | le32(b, off + 4) << 32;
    }

    private static long le64(byte[] b) {
        return le64(b, 0);
    }
}
