package dev.jhv.migration.stream;

/**
 * Where RAM pages go or come from when they travel over multifd channels instead of the main stream. The main
 * stream keeps the sections and, in its RAM bodies, the records that tie the channels to it: the channel count in
 * START and a sync point at the end of every pass (QEMU syncs its multifd channels at each dirty sync), so that a
 * page sent in one pass on one channel and again in the next on another lands in that order.
 */
public final class MultifdPages {
    private MultifdPages() { }

    /** The source's side: pages handed to the channels, and the sync that ends a pass. */
    public interface Sink {
        /** How many channels carry the pages (announced in the RAM START section). */
        int channels();

        /** Queues a page for a channel; its bytes are read when the channel sends it. */
        void page(RamBlock block, long offset);

        /**
         * Sends what is queued and a sync point on every channel, and waits until every channel has written it.
         *
         * @return the sync point's number (1, 2, ...), which the main stream carries too
         */
        long sync();
    }

    /** The destination's side, driven by the records of the main stream. */
    public interface Source {
        /** The RAM START section says the pages come over {@code channels} channels. */
        void expect(int channels);

        /** The main stream reached sync point {@code n}: returns once every channel has applied what precedes it. */
        void sync(long n);
    }
}
