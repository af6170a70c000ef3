package dev.jhv.launcher.testing;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/** A blocking test client for unix or tcp sockets whose received text is collected by a reader thread. */
public final class SocketClient implements AutoCloseable {
    public final Output received = new Output();
    private final SocketChannel channel;
    private final Thread reader;

    public SocketClient(SocketAddress address) throws IOException {
        channel = SocketChannel.open(address);
        reader = Thread.ofPlatform().name("test-socket-reader").daemon().start(() -> {
            var buf = ByteBuffer.allocate(4096);
            try {
                while (channel.read(buf.clear()) > 0) {
                    received.write(buf.array(), 0, buf.position());
                }
            } catch (IOException e) {
                // closed
            }
        });
    }

    public void send(String text) throws IOException {
        var b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
