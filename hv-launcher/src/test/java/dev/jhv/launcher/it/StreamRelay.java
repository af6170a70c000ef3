package dev.jhv.launcher.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A man in the middle of one tcp migration: forwards the source's stream to the destination and the destination's
 * answers back, and can damage or hold the stream. Holding recognises where the device state begins: the FULL
 * section of the first device, vCPU 0 (jhv's stream format, see hv-migration's StreamFormat: u8 SECTION_FULL 0x04,
 * be32 section id 1 (RAM is 0), u8 length 3, "cpu", be32 instance 0), forwards everything before it, and from
 * there reads nothing more, so the source sits in stage 3 with the guest stopped.
 */
final class StreamRelay implements AutoCloseable {
    /** The start of the first device section. */
    static final byte[] DEVICE_STATE = deviceStateStart();

    private final ServerSocket server;
    private final int dstPort;
    private final long flipAt;
    private final boolean holdDevices;
    /** Bytes after which the relay goes silent both ways, as a cut cable does (-1: never). */
    private final long cutAt;
    private volatile boolean cut;
    private final CountDownLatch held = new CountDownLatch(1);
    /** Counted down by close: a holding relay's thread lets go. */
    private final CountDownLatch released = new CountDownLatch(1);
    private volatile Socket from;
    private volatile Socket to;
    private volatile long forwarded;

    private StreamRelay(int dstPort, long flipAt, boolean holdDevices, long cutAt) throws IOException {
        this.server = new ServerSocket(0);
        this.dstPort = dstPort;
        this.flipAt = flipAt;
        this.holdDevices = holdDevices;
        this.cutAt = cutAt;
        Thread.ofPlatform().daemon().name("relay").start(this::run);
    }

    /** Flips one byte of the stream, the one at {@code offset}. */
    static StreamRelay flipping(int dstPort, long offset) throws IOException {
        return new StreamRelay(dstPort, offset, false, -1);
    }

    /**
     * Forwards {@code bytes} of the stream, then carries nothing either way and closes nothing: to both ends the
     * link has gone silent, as when a cable is cut (no reset, no end of stream).
     */
    static StreamRelay cuttingAfter(int dstPort, long bytes) throws IOException {
        return new StreamRelay(dstPort, -1, false, bytes);
    }

    /** Forwards everything until {@link #breakLink}. */
    static StreamRelay forwarding(int dstPort) throws IOException {
        return new StreamRelay(dstPort, -1, false, -1);
    }

    /** Breaks the link now: both connections close, so each end sees its peer gone. */
    void breakLink() throws IOException {
        cut = true;
        for (Socket s : new Socket[] {from, to}) {
            if (s != null) {
                s.close();
            }
        }
    }

    /** Forwards RAM, then holds the device state. */
    static StreamRelay holdingDeviceState(int dstPort) throws IOException {
        return new StreamRelay(dstPort, -1, true, -1);
    }

    int port() {
        return server.getLocalPort();
    }

    /** Waits (bounded) until the relay has seen the device state begin and holds it; returns the bytes forwarded. */
    long awaitHeld(long seconds) throws InterruptedException {
        if (!held.await(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError("the stream's device state never came through the relay (" + forwarded
                    + " bytes forwarded)");
        }
        return forwarded;
    }

    private static byte[] deviceStateStart() {
        byte[] cpu = "cpu".getBytes(StandardCharsets.US_ASCII);
        byte[] b = new byte[1 + 4 + 1 + cpu.length + 4];
        b[0] = 0x04;
        b[4] = 1;
        b[5] = (byte) cpu.length;
        System.arraycopy(cpu, 0, b, 6, cpu.length);
        return b;
    }

    private void run() {
        try (Socket f = server.accept(); Socket t = new Socket("127.0.0.1", dstPort)) {
            from = f;
            to = t;
            Thread back = Thread.ofPlatform().daemon().start(() -> {
                try {
                    var in = t.getInputStream();
                    var out = f.getOutputStream();
                    byte[] buf = new byte[4096];
                    int k;
                    while ((k = in.read(buf)) > 0) {
                        if (!cut) { // cut: the destination's answers are lost on the way
                            out.write(buf, 0, k);
                        }
                    }
                } catch (IOException e) {
                    // either side went away
                }
            });
            forward(f.getInputStream(), t.getOutputStream());
            back.join(10_000);
        } catch (IOException | InterruptedException e) {
            // the test sees the outcome on the monitors
        }
    }

    private void forward(InputStream in, OutputStream out) throws IOException, InterruptedException {
        byte[] buf = new byte[65536];
        long at = 0;
        int matched = 0; // bytes of DEVICE_STATE matched so far, possibly across reads
        int n;
        while ((n = in.read(buf)) > 0) {
            if (cutAt >= 0 && at + n >= cutAt) {
                int keep = (int) Math.max(0, cutAt - at);
                out.write(buf, 0, keep);
                out.flush();
                forwarded = at + keep;
                cut = true;
                held.countDown();
                released.await(); // silent: read no more, so the source's writes back up and stall
                return;
            }
            if (flipAt >= at && flipAt < at + n) {
                buf[(int) (flipAt - at)] ^= 0x10;
            }
            if (holdDevices) {
                for (int i = 0; i < n; i++) {
                    matched = buf[i] == DEVICE_STATE[matched] ? matched + 1 : buf[i] == DEVICE_STATE[0] ? 1 : 0;
                    if (matched == DEVICE_STATE.length) {
                        // what came before the section goes on (a part of the pattern held from the last read
                        // was forwarded already: only this read's share is kept back)
                        int keep = Math.max(0, i + 1 - DEVICE_STATE.length);
                        out.write(buf, 0, keep);
                        out.flush();
                        forwarded = at + keep;
                        held.countDown();
                        // read no more: the source's writes fill the socket and it waits in stage 3
                        released.await();
                        return;
                    }
                }
            }
            out.write(buf, 0, n);
            at += n;
            forwarded = at;
        }
    }

    @Override
    public void close() throws IOException {
        released.countDown();
        server.close();
        for (Socket s : new Socket[] {from, to}) {
            if (s != null) {
                s.close();
            }
        }
    }
}
