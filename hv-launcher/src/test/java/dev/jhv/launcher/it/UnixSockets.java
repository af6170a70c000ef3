package dev.jhv.launcher.it;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Connecting to a socket jhv is about to open (a monitor, QMP): bounded polling for the socket file to appear. */
final class UnixSockets {
    private UnixSockets() { }

    /** @param what names the socket in the failure ("monitor socket", "QMP socket") */
    static SocketChannel connect(Path socket, Duration timeout, String what) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (Files.exists(socket)) {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    ch.connect(UnixDomainSocketAddress.of(socket));
                    return ch;
                } catch (IOException e) {
                    ch.close();
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " " + socket + " did not appear within " + timeout);
            }
            Thread.sleep(20); // polling for a file to appear: there is no event to wait on
        }
    }
}
