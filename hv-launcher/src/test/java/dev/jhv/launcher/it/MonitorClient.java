package dev.jhv.launcher.it;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/** A person typing at the HMP monitor over its unix socket. */
public final class MonitorClient implements AutoCloseable {
    private static final String PROMPT = "(qemu) ";
    private final SocketChannel ch;
    private final StringBuilder pending = new StringBuilder();

    private MonitorClient(SocketChannel ch) {
        this.ch = ch;
    }

    /** Connects, waiting up to the timeout for the socket to appear, and reads up to the first prompt. */
    public static MonitorClient connect(Path socket, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        MonitorClient m = new MonitorClient(UnixSockets.connect(socket, timeout, "monitor socket"));
        m.readUntilPrompt(deadline);
        return m;
    }

    /** Sends one command line and returns its output (without the echo and the next prompt). */
    public String command(String line) throws IOException {
        ch.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
        String out = readUntilPrompt(System.nanoTime() + Duration.ofSeconds(30).toNanos());
        // Drop an echoed command line, if the monitor echoes.
        String trimmed = out.replace("\r", "");
        if (trimmed.startsWith(line + "\n")) {
            trimmed = trimmed.substring(line.length() + 1);
        }
        return trimmed;
    }

    /** Sends a line without waiting for a prompt (e.g. quit). */
    public void send(String line) throws IOException {
        ch.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
    }

    private String readUntilPrompt(long deadline) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        ch.configureBlocking(true);
        while (true) {
            int idx = pending.indexOf(PROMPT);
            if (idx >= 0) {
                String out = pending.substring(0, idx);
                pending.delete(0, idx + PROMPT.length());
                return out;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no monitor prompt; got: " + pending);
            }
            buf.clear();
            int n = ch.read(buf);
            if (n < 0) {
                throw new IOException("monitor closed the connection; got: " + pending);
            }
            pending.append(new String(buf.array(), 0, n, StandardCharsets.UTF_8));
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
