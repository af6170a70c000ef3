package dev.jhv.virtio.net;

import java.util.concurrent.atomic.AtomicLong;

/** What the device counted: written on its I/O thread, read by whoever asks (a monitor command, a test). */
final class NetCounters {
    final AtomicLong txFrames = new AtomicLong();
    /** Transmitted chains dropped: too long, a GSO type not negotiated or not segmentable, a bad checksum place. */
    final AtomicLong txDropped = new AtomicLong();
    final AtomicLong rxFrames = new AtomicLong();
    /** Received frames the filter refused. */
    final AtomicLong rxFiltered = new AtomicLong();
    /** Received frames dropped: runts, too long for the buffer, arrived while the driver was not running. */
    final AtomicLong rxDropped = new AtomicLong();

    VirtioNet.Stats snapshot() {
        return new VirtioNet.Stats(txFrames.get(), txDropped.get(), rxFrames.get(), rxFiltered.get(),
                rxDropped.get());
    }
}
