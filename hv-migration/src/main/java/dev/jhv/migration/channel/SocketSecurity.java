package dev.jhv.migration.channel;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** What a migration socket's bytes go through before the stream (TLS), set up once the connection is made. */
@FunctionalInterface
public interface SocketSecurity {
    /** The connection's streams in the clear, once the peer is checked; a failure says why in a line. */
    Streams over(InputStream in, OutputStream out) throws IOException;

    /** A connection's two directions. */
    record Streams(InputStream in, OutputStream out) { }

    /** Plain sockets. */
    SocketSecurity NONE = Streams::new;
}
