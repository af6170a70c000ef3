package dev.jhv.virtio.net;

/**
 * The MAC addresses of NICs given no {@code mac=}, as QEMU picks them: 52:54:00:12:34:56 for the first, the last
 * octet one higher for each next, skipping addresses of that range a NIC was given explicitly. One allocator per
 * board; the board claims every explicit address before it asks for generated ones, or as it goes (then a later
 * explicit address may repeat an earlier generated one, as in QEMU).
 */
public final class MacAllocator {
    private static final long PREFIX = 0x52_54_00_12_34_00L;
    private static final int FIRST = 0x56;

    private final boolean[] used = new boolean[256];

    /** Records an address given with {@code mac=}, so that no generated one repeats it. */
    public synchronized void claim(MacAddress mac) {
        if ((mac.bits() & ~0xffL) == PREFIX) {
            used[(int) (mac.bits() & 0xff)] = true;
        }
    }

    /**
     * The next free generated address.
     *
     * @throws IllegalStateException when every address from 52:54:00:12:34:56 to 52:54:00:12:34:fe is taken
     */
    public synchronized MacAddress next() {
        for (int i = FIRST; i < 0xff; i++) {
            if (!used[i]) {
                used[i] = true;
                return new MacAddress(PREFIX | i);
            }
        }
        throw new IllegalStateException("no free generated MAC address left (52:54:00:12:34:56 to ..:fe are taken):"
                + " give the NIC a mac=");
    }
}
