package dev.jhv.virtio.net;

import java.util.HexFormat;

/** An Ethernet address, the 48 bits kept in the low bits of {@code bits} (first octet most significant). */
public record MacAddress(long bits) {
    public static final MacAddress BROADCAST = new MacAddress(0xffff_ffff_ffffL);

    public MacAddress {
        if ((bits & ~0xffff_ffff_ffffL) != 0) {
            throw new IllegalArgumentException("a MAC address has 48 bits: 0x" + Long.toHexString(bits));
        }
    }

    /**
     * Parses the spelling of {@code mac=}: six pairs of hex digits separated by ':' (or '-').
     *
     * @throws IllegalArgumentException naming the text, when it is not a MAC address
     */
    public static MacAddress parse(String text) {
        String[] parts = text.split("[:-]", -1);
        if (parts.length != 6) {
            throw notAMac(text);
        }
        long v = 0;
        for (String p : parts) {
            if (p.length() != 2 || !HexFormat.isHexDigit(p.charAt(0)) || !HexFormat.isHexDigit(p.charAt(1))) {
                throw notAMac(text);
            }
            v = (v << 8) | HexFormat.fromHexDigits(p);
        }
        return new MacAddress(v);
    }

    private static IllegalArgumentException notAMac(String text) {
        return new IllegalArgumentException("mac '" + text
                + "' is not a MAC address (six hex pairs separated by ':', such as 52:54:00:12:34:56)");
    }

    /** The address at {@code off} of {@code b} (six bytes, network order). */
    public static MacAddress of(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 6; i++) {
            v = (v << 8) | (b[off + i] & 0xff);
        }
        return new MacAddress(v);
    }

    /** The six octets in network order. */
    public byte[] bytes() {
        byte[] b = new byte[6];
        put(b, 0);
        return b;
    }

    /** Writes the six octets at {@code off} of {@code b}. */
    public void put(byte[] b, int off) {
        for (int i = 0; i < 6; i++) {
            b[off + i] = (byte) (bits >>> (40 - 8 * i));
        }
    }

    /** The group bit: multicast or broadcast. */
    public boolean isMulticast() {
        return (bits & (1L << 40)) != 0;
    }

    @Override
    public String toString() {
        var sb = new StringBuilder(17);
        for (int i = 0; i < 6; i++) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(HexFormat.of().toHexDigits((byte) (bits >>> (40 - 8 * i))));
        }
        return sb.toString();
    }
}
