package dev.jhv.virtio.device;

/** Feature bits of the virtio 1.2 spec (6, "Reserved Feature Bits") that the transport and queues interpret. */
public final class VirtioFeatures {
    public static final long NOTIFY_ON_EMPTY = 1L << 24;
    public static final long ANY_LAYOUT = 1L << 27;
    public static final long INDIRECT_DESC = 1L << 28;
    public static final long EVENT_IDX = 1L << 29;
    public static final long VERSION_1 = 1L << 32;
    public static final long ACCESS_PLATFORM = 1L << 33;
    public static final long RING_PACKED = 1L << 34;

    private VirtioFeatures() {
    }

    public static boolean has(long features, long bit) {
        return (features & bit) != 0;
    }
}
