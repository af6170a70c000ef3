package dev.jhv.virtio.net;

import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The self-announcement after a migration, as QEMU's announce-* parameters time it: a first round at once, then
 * {@code rounds - 1} more, the gap growing by {@code step} from {@code initial} up to {@code max}. Each round sends
 * a RARP for the guest's MAC (so switches learn where it went) and, with GUEST_ANNOUNCE, asks the guest to announce
 * itself.
 */
final class Announcer {
    /** announce-initial, announce-max, announce-rounds, announce-step (milliseconds). */
    record Params(long initial, long max, int rounds, long step) {
        static final Params QEMU = new Params(50, 550, 5, 100);

        Params {
            if (initial < 0 || max < 0 || rounds < 0 || step < 0) {
                throw new IllegalArgumentException("announce parameters must not be negative: " + initial + ", "
                        + max + ", " + rounds + ", " + step);
            }
        }

        /** The gap after the round that left {@code left} rounds to go (left &gt; 0). */
        long gapBefore(int left) {
            return Math.min(max, initial + (long) (rounds - left - 1) * step);
        }
    }

    /** Runs a task later, off the caller's thread. */
    interface Timer {
        Future<?> schedule(Runnable task, long delayMillis);

        /** One daemon thread shared by every NIC: it only hands rounds to the devices' threads. */
        Timer SHARED = new Timer() {
            private final ScheduledThreadPoolExecutor pool = newPool();

            private static ScheduledThreadPoolExecutor newPool() {
                var p = new ScheduledThreadPoolExecutor(1, r -> {
                    var t = new Thread(r, "virtio-net-announce");
                    t.setDaemon(true);
                    return t;
                });
                p.setRemoveOnCancelPolicy(true);
                return p;
            }

            @Override
            public Future<?> schedule(Runnable task, long delayMillis) {
                return pool.schedule(task, delayMillis, TimeUnit.MILLISECONDS);
            }
        };
    }

    /** Ethernet type of RARP (RFC 903), and the frame's length: the 42 bytes padded to Ethernet's 60. */
    static final int ETHERTYPE_RARP = 0x8035;
    static final int RARP_FRAME_LENGTH = 60;

    private Announcer() {
    }

    /**
     * A RARP "request reverse" from {@code mac}, broadcast: hardware type Ethernet, protocol IPv4, sender and
     * target hardware address {@code mac}, both protocol addresses 0.
     */
    static byte[] rarp(MacAddress mac) {
        byte[] f = new byte[RARP_FRAME_LENGTH];
        MacAddress.BROADCAST.put(f, 0);
        mac.put(f, 6);
        be16(f, 12, ETHERTYPE_RARP);
        be16(f, 14, 1);          // hardware type: Ethernet
        be16(f, 16, 0x0800);     // protocol type: IPv4
        f[18] = 6;               // hardware address length
        f[19] = 4;               // protocol address length
        be16(f, 20, 3);          // operation: request reverse
        mac.put(f, 22);          // sender hardware address; sender protocol address 0 at 28
        mac.put(f, 32);          // target hardware address; target protocol address 0 at 38
        return f;
    }

    private static void be16(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }
}
