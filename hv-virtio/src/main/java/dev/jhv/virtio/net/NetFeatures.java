package dev.jhv.virtio.net;

/** The virtio-net feature bits (virtio 1.2, 5.1.3) and the sets the device offers. */
public final class NetFeatures {
    public static final long CSUM = 1L << 0;
    public static final long GUEST_CSUM = 1L << 1;
    public static final long CTRL_GUEST_OFFLOADS = 1L << 2;
    public static final long MTU = 1L << 3;
    public static final long MAC = 1L << 5;
    public static final long GUEST_TSO4 = 1L << 7;
    public static final long GUEST_TSO6 = 1L << 8;
    public static final long GUEST_ECN = 1L << 9;
    public static final long GUEST_UFO = 1L << 10;
    public static final long HOST_TSO4 = 1L << 11;
    public static final long HOST_TSO6 = 1L << 12;
    public static final long HOST_ECN = 1L << 13;
    public static final long HOST_UFO = 1L << 14;
    public static final long MRG_RXBUF = 1L << 15;
    public static final long STATUS = 1L << 16;
    public static final long CTRL_VQ = 1L << 17;
    public static final long CTRL_RX = 1L << 18;
    public static final long CTRL_VLAN = 1L << 19;
    public static final long CTRL_RX_EXTRA = 1L << 20;
    public static final long GUEST_ANNOUNCE = 1L << 21;
    public static final long MQ = 1L << 22;
    public static final long CTRL_MAC_ADDR = 1L << 23;

    /** The receive offloads: what the guest accepts in frames it is given (CTRL_GUEST_OFFLOADS may change them). */
    static final long GUEST_OFFLOADS = GUEST_CSUM | GUEST_TSO4 | GUEST_TSO6 | GUEST_ECN | GUEST_UFO;

    /** Everything a backend of plain frames allows: no checksum or segmentation offload in either direction. */
    static final long PLAIN = CTRL_GUEST_OFFLOADS | MAC | MRG_RXBUF | STATUS | CTRL_VQ | CTRL_RX | CTRL_VLAN
            | CTRL_RX_EXTRA | GUEST_ANNOUNCE | CTRL_MAC_ADDR;

    /**
     * With a vnet header (tap) the offloads too, as QEMU 7.2 offers them to a tap that takes UFO (Linux accepts
     * TUN_F_UFO and UDP GSO frames again since 4.14, segmenting them itself).
     */
    static final long WITH_VNET_HEADER = PLAIN | CSUM | GUEST_OFFLOADS | HOST_TSO4 | HOST_TSO6 | HOST_ECN | HOST_UFO;

    private NetFeatures() {
    }

    /** What the device offers on a backend with ({@code vnetHeader}) or without a vnet header. */
    public static long offered(boolean vnetHeader) {
        return vnetHeader ? WITH_VNET_HEADER : PLAIN;
    }
}
