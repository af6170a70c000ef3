package dev.jhv.launcher.testing;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** An OutputStream that collects text and lets a test wait (bounded) for something to appear in it. */
public final class Output extends OutputStream {
    public static final Duration TIMEOUT = Duration.ofSeconds(10);
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    @Override
    public synchronized void write(int b) {
        bytes.write(b);
        notifyAll();
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        bytes.write(b, off, len);
        notifyAll();
    }

    public synchronized byte[] bytes() {
        return bytes.toByteArray();
    }

    public synchronized String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Waits until the text contains {@code marker} (searching after {@code from}); returns the index after it. */
    public synchronized int await(String marker, int from) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            int i = text().indexOf(marker, from);
            if (i >= 0) {
                return i + marker.length();
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("timed out waiting for " + quote(marker) + " in " + quote(text()));
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    public int await(String marker) throws InterruptedException {
        return await(marker, 0);
    }

    private static String quote(String s) {
        return "\"" + s.replace("\r", "\\r").replace("\n", "\\n").replace("\u0001", "^A") + "\"";
    }
}
