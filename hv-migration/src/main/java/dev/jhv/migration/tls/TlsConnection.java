package dev.jhv.migration.tls;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/**
 * A TLS session (the JDK's SSLEngine) over a connection's two streams, for any socket (tcp, unix, an inherited
 * descriptor). One thread may read while another writes (the return path beside the stream), as SSLEngine allows.
 */
final class TlsConnection {
    private final SSLEngine engine;
    private final InputStream rawIn;
    private final OutputStream rawOut;
    private final Object readLock = new Object();
    private final Object writeLock = new Object();
    private ByteBuffer netIn;
    private ByteBuffer appIn;
    private ByteBuffer netOut;
    private final byte[] chunk;

    /** Who is at the other end ("destination", "source"), for messages. */
    private final String peer;

    TlsConnection(SSLEngine engine, InputStream rawIn, OutputStream rawOut, String peer) {
        this.peer = peer;
        this.engine = engine;
        this.rawIn = rawIn;
        this.rawOut = rawOut;
        var s = engine.getSession();
        netIn = ByteBuffer.allocate(s.getPacketBufferSize());
        netIn.flip();
        appIn = ByteBuffer.allocate(s.getApplicationBufferSize());
        appIn.flip();
        netOut = ByteBuffer.allocate(s.getPacketBufferSize());
        chunk = new byte[s.getPacketBufferSize()];
    }

    /** Runs the handshake to its end on the calling thread; a failure is the SSLException with the reason. */
    void handshake() throws IOException {
        inHandshake = true;
        try {
            handshakeSteps();
        } finally {
            inHandshake = false;
        }
    }

    private void handshakeSteps() throws IOException {
        engine.beginHandshake();
        while (true) {
            switch (engine.getHandshakeStatus()) {
                case NEED_WRAP -> wrap(ByteBuffer.allocate(0));
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    synchronized (readLock) {
                        unwrapSome();
                    }
                }
                case NEED_TASK -> {
                    Runnable task;
                    while ((task = engine.getDelegatedTask()) != null) {
                        task.run();
                    }
                }
                case FINISHED, NOT_HANDSHAKING -> {
                    return;
                }
            }
        }
    }

    /** Encrypts {@code src} whole and writes the records (with the write lock). */
    private void wrap(ByteBuffer src) throws IOException {
        synchronized (writeLock) {
            do {
                netOut.clear();
                SSLEngineResult r;
                try {
                    r = engine.wrap(src, netOut);
                } catch (SSLException e) {
                    flushAlert();
                    throw e;
                }
                if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                    netOut = ByteBuffer.allocate(netOut.capacity() * 2);
                    continue;
                }
                netOut.flip();
                rawOut.write(netOut.array(), 0, netOut.limit());
                if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    break;
                }
                runTasks(r);
            } while (src.hasRemaining());
            rawOut.flush();
        }
    }

    /** After a failed step the engine may hold an alert for the peer: send it so the peer learns why. */
    private void flushAlert() {
        try {
            netOut.clear();
            engine.wrap(ByteBuffer.allocate(0), netOut);
            netOut.flip();
            rawOut.write(netOut.array(), 0, netOut.limit());
            rawOut.flush();
        } catch (IOException | RuntimeException e) {
            // the peer is gone or the engine has nothing more to say
        }
    }

    private void runTasks(SSLEngineResult r) {
        if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
            Runnable task;
            while ((task = engine.getDelegatedTask()) != null) {
                task.run();
            }
        }
    }

    /** Unwraps at least one record into appIn (reading the wire as needed); false at the peer's close. */
    private boolean unwrapSome() throws IOException {
        while (true) {
            appIn.compact();
            SSLEngineResult r;
            try {
                r = engine.unwrap(netIn, appIn);
            } catch (SSLException e) {
                appIn.flip();
                flushAlert();
                throw e;
            }
            appIn.flip();
            switch (r.getStatus()) {
                case OK -> {
                    runTasks(r);
                    if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP && !inHandshake) {
                        wrap(ByteBuffer.allocate(0)); // a post-handshake answer (TLS 1.3 key update)
                    }
                    return true;
                }
                case CLOSED -> {
                    return false;
                }
                case BUFFER_OVERFLOW -> {
                    var bigger = ByteBuffer.allocate(appIn.capacity() * 2);
                    bigger.put(appIn);
                    bigger.flip();
                    appIn = bigger;
                }
                case BUFFER_UNDERFLOW -> {
                    if (netIn.limit() == netIn.capacity() && netIn.position() == 0) {
                        var bigger = ByteBuffer.allocate(netIn.capacity() * 2);
                        bigger.put(netIn);
                        bigger.flip();
                        netIn = bigger;
                    }
                    netIn.compact();
                    int n = rawIn.read(netIn.array(), netIn.position(), netIn.remaining());
                    if (n < 0) {
                        netIn.flip();
                        throw new EOFException("the connection closed during TLS");
                    }
                    netIn.position(netIn.position() + n);
                    netIn.flip();
                }
            }
        }
    }

    /** While {@link #handshake} runs, which answers what the engine needs itself. */
    private volatile boolean inHandshake;

    /** What is read in the clear. */
    final InputStream in = new InputStream() {
        @Override
        public int read() throws IOException {
            byte[] b = new byte[1];
            return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            synchronized (readLock) {
                while (!appIn.hasRemaining()) {
                    try {
                        if (!unwrapSome()) {
                            return -1;
                        }
                    } catch (SSLException e) {
                        // TLS 1.3: the server checks the client's certificate after the client's handshake ended,
                        // so its refusal comes with the first read
                        throw new IOException("TLS handshake failed: " + Tls.reason(e, peer), e);
                    }
                }
                int n = Math.min(len, appIn.remaining());
                appIn.get(b, off, n);
                return n;
            }
        }

        @Override
        public void close() throws IOException {
            rawIn.close();
        }
    };

    /** What is written in the clear. */
    final OutputStream out = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            wrap(ByteBuffer.wrap(b, off, len));
        }

        @Override
        public void flush() throws IOException {
            synchronized (writeLock) {
                rawOut.flush();
            }
        }

        @Override
        public void close() throws IOException {
            synchronized (writeLock) {
                engine.closeOutbound();
                try {
                    wrap(ByteBuffer.allocate(0));
                } catch (IOException e) {
                    // the peer is gone: nothing to tell it
                }
                rawOut.close();
            }
        }
    };
}
