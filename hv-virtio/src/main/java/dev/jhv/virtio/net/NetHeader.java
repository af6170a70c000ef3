package dev.jhv.virtio.net;

/**
 * struct virtio_net_hdr (virtio 1.2, 5.1.6): 10 bytes, 12 with num_buffers (VERSION_1 or MRG_RXBUF). Little-endian
 * in both the modern and (on x86) the legacy layout.
 */
record NetHeader(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset, int numBuffers) {
    static final int LEGACY_LENGTH = 10;
    static final int LENGTH = 12;

    static final int F_NEEDS_CSUM = 1;
    static final int F_DATA_VALID = 2;
    static final int GSO_NONE = 0;
    static final int GSO_TCPV4 = 1;
    static final int GSO_UDP = 3;
    static final int GSO_TCPV6 = 4;
    static final int GSO_ECN = 0x80;

    static final NetHeader NONE = new NetHeader(0, GSO_NONE, 0, 0, 0, 0, 0);

    /** Reads the first 10 bytes of {@code b} at {@code off}, and num_buffers when {@code length} is 12. */
    static NetHeader read(byte[] b, int off, int length) {
        return new NetHeader(b[off] & 0xff, b[off + 1] & 0xff, u16(b, off + 2), u16(b, off + 4), u16(b, off + 6),
                u16(b, off + 8), length >= LENGTH ? u16(b, off + 10) : 0);
    }

    /** Writes {@code length} (10 or 12) bytes at {@code off} of {@code b}. */
    void write(byte[] b, int off, int length) {
        b[off] = (byte) flags;
        b[off + 1] = (byte) gsoType;
        put16(b, off + 2, hdrLen);
        put16(b, off + 4, gsoSize);
        put16(b, off + 6, csumStart);
        put16(b, off + 8, csumOffset);
        if (length >= LENGTH) {
            put16(b, off + 10, numBuffers);
        }
    }

    NetHeader withNumBuffers(int n) {
        return new NetHeader(flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset, n);
    }

    boolean needsCsum() {
        return (flags & F_NEEDS_CSUM) != 0;
    }

    /** The GSO type without the ECN bit. */
    int gsoKind() {
        return gsoType & ~GSO_ECN;
    }

    static int u16(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8;
    }

    static int u16be(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    static void put16(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
    }
}
