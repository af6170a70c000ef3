package dev.jhv.core.net;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * -netdev stream: Ethernet frames over a stream socket (unix or TCP), each behind a 4-byte big-endian length, as
 * QEMU's stream netdev frames them and passt speaks it. As a client it connects at start-up (a socket nobody
 * listens on is one error line); as a server it takes the first peer that connects. No vnet header.
 */
public final class StreamBackend implements NetBackend {
    /** QEMU's receive buffer: a frame of up to 64 KiB plus headroom; a longer length means a broken stream. */
    static final int MAX_FRAME = 65536 + 4096;
    private static final int PREFIX = 4;
    private static final System.Logger LOG = System.getLogger("jhv.net.stream");

    private final String id;
    private final SocketAddress address;
    private final Selector selector;
    private final ServerSocketChannel server;
    private final ByteBuffer out = ByteBuffer.allocateDirect(PREFIX + MAX_FRAME).order(ByteOrder.BIG_ENDIAN);
    private final ByteBuffer in = ByteBuffer.allocateDirect(2 * (PREFIX + MAX_FRAME)).order(ByteOrder.BIG_ENDIAN);
    /** All of {@code in}, whatever its position (a buffer's own segment starts at its position). */
    private final MemorySegment inSegment = MemorySegment.ofBuffer(in.duplicate().clear());
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Object sendLock = new Object();
    private volatile SocketChannel channel;
    private volatile SelectionKey key;
    private volatile boolean closing;
    private volatile boolean resumeRequested;
    /** Guarded by sendLock: a send was refused while a frame was still going out. */
    private boolean wantWritable;
    /** Loop thread only: the receiver refused the frame at the start of {@code in}. */
    private boolean paused;
    private Receiver receiver;
    private final Frames.DropLog drops;
    private Thread thread;

    private StreamBackend(String id, SocketAddress address, SocketChannel channel, ServerSocketChannel server)
            throws IOException {
        this.id = id;
        this.drops = new Frames.DropLog(LOG, id);
        this.address = address;
        this.channel = channel;
        this.server = server;
        this.selector = Selector.open();
        out.limit(0);
    }

    /**
     * Connects to (or, with server=on, listens on) the socket of {@code config}.
     *
     * @throws NetBackendException "can't connect to unix socket /run/passt.socket: Connection refused"
     */
    public static StreamBackend open(NetdevConfig.Stream config) {
        SocketAddress a = config.address();
        if (a instanceof InetSocketAddress i && i.isUnresolved()) {
            a = new InetSocketAddress(i.getHostString(), i.getPort());
            if (((InetSocketAddress) a).isUnresolved()) {
                throw new NetBackendException("can't resolve host '" + i.getHostString() + "'");
            }
        }
        try {
            if (config.server()) {
                var family = a instanceof UnixDomainSocketAddress ? StandardProtocolFamily.UNIX : null;
                ServerSocketChannel s = family == null ? ServerSocketChannel.open() : ServerSocketChannel.open(family);
                try {
                    if (a instanceof UnixDomainSocketAddress u) {
                        Files.deleteIfExists(u.getPath());
                    }
                    s.bind(a);
                    s.configureBlocking(false);
                    return new StreamBackend(config.id(), a, null, s);
                } catch (IOException | RuntimeException e) {
                    s.close();
                    throw e;
                }
            }
            SocketChannel c = SocketChannel.open(a);
            try {
                c.configureBlocking(false);
                return new StreamBackend(config.id(), a, c, null);
            } catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
        } catch (IOException e) {
            throw new NetBackendException((config.server() ? "can't listen on " : "can't connect to ")
                    + describe(a) + ": " + (e.getMessage() == null ? e.toString() : e.getMessage()));
        }
    }

    private static String describe(SocketAddress a) {
        return a instanceof UnixDomainSocketAddress u ? "unix socket " + u.getPath() : "tcp " + a;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int vnetHeaderLength() {
        return 0;
    }

    @Override
    public boolean send(List<MemorySegment> parts) {
        synchronized (sendLock) {
            SocketChannel c = channel;
            if (c == null) {
                return true;    // no peer yet: the frame is lost, as on a cable nobody plugged in
            }
            if (out.hasRemaining()) {
                wantWritable = true;
                return false;
            }
            out.clear();
            long len = Frames.gather(parts, MemorySegment.ofBuffer(out).asSlice(PREFIX, MAX_FRAME));
            if (len < 0) {
                out.limit(0);
                drops.drop("a frame of more than " + MAX_FRAME + " bytes");
                return true;
            }
            out.putInt(0, (int) len);
            out.limit((int) (PREFIX + len));
            flush(c);
            return true;
        }
    }

    /** Writes what of {@code out} the socket takes now; asks the loop to watch for room when some is left. */
    private void flush(SocketChannel c) {
        try {
            c.write(out);
        } catch (IOException e) {
            out.limit(0);
            drops.drop(e.getMessage());
            return;
        }
        SelectionKey k = key;
        if (k != null && k.isValid()) {
            if (out.hasRemaining()) {
                k.interestOpsOr(SelectionKey.OP_WRITE);
                selector.wakeup();
            } else {
                k.interestOpsAnd(~SelectionKey.OP_WRITE);
            }
        }
    }

    @Override
    public void start(Receiver receiver) {
        Frames.checkNotStarted(id, this.receiver);
        this.receiver = receiver;
        try {
            if (server != null) {
                server.register(selector, SelectionKey.OP_ACCEPT);
            } else {
                key = channel.register(selector, SelectionKey.OP_READ);
            }
        } catch (IOException e) {
            throw new NetBackendException(id + ": " + e.getMessage(), e);
        }
        thread = Frames.startLoop(id, this::loop);
    }

    @Override
    public void resumeReceive() {
        resumeRequested = true;
        selector.wakeup();
    }

    private void loop() {
        try {
            while (!closing) {
                selector.select();
                for (SelectionKey k : selector.selectedKeys()) {
                    if (!k.isValid()) {
                        continue;
                    }
                    if (k.isAcceptable()) {
                        accept();
                    } else {
                        if (k.isWritable()) {
                            writable();
                        }
                        if (k.isValid() && k.isReadable() && !paused) {
                            read();
                        }
                    }
                }
                selector.selectedKeys().clear();
                if (resumeRequested) {
                    resumeRequested = false;
                    if (paused) {
                        paused = false;
                        deliver();
                        if (!paused && key != null && key.isValid()) {
                            key.interestOpsOr(SelectionKey.OP_READ);
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            if (!closing) {
                LOG.log(System.Logger.Level.ERROR, id + ": the receive loop stopped", e);
            }
        }
    }

    private void accept() throws IOException {
        SocketChannel c = server.accept();
        if (c == null) {
            return;
        }
        if (channel != null) {
            c.close();      // one peer at a time, as QEMU's server
            return;
        }
        c.configureBlocking(false);
        in.clear();
        key = c.register(selector, SelectionKey.OP_READ);
        channel = c;
    }

    private void writable() {
        boolean notify = false;
        synchronized (sendLock) {
            flush(channel);
            if (!out.hasRemaining() && wantWritable) {
                wantWritable = false;
                notify = true;
            }
        }
        if (notify) {
            receiver.writable();
        }
    }

    private void read() throws IOException {
        int n = channel.read(in);
        if (n < 0) {
            disconnected("the peer closed the connection");
            return;
        }
        deliver();
    }

    /** Hands the complete frames at the start of {@code in} to the receiver; keeps the rest for the next read. */
    private void deliver() throws IOException {
        int start = 0;
        int end = in.position();
        while (end - start >= PREFIX) {
            int len = in.getInt(start);
            if (len < 0 || len > MAX_FRAME) {
                disconnected("a frame length of " + Integer.toUnsignedString(len) + " bytes");
                return;
            }
            if (end - start < PREFIX + len) {
                break;
            }
            if (!receiver.receive(inSegment.asSlice(start + PREFIX, len))) {
                paused = true;
                key.interestOpsAnd(~SelectionKey.OP_READ);
                break;
            }
            start += PREFIX + len;
        }
        if (start > 0) {
            MemorySegment.copy(inSegment, start, inSegment, 0, end - start);
            in.position(end - start);
        }
    }

    private void disconnected(String why) throws IOException {
        LOG.log(System.Logger.Level.WARNING, "{0}: {1} disconnected: {2}", id, describe(address), why);
        synchronized (sendLock) {
            key.cancel();
            channel.close();
            channel = null;
            out.limit(0);
        }
        in.clear();
        paused = false;
    }

    /** QEMU 7.2 prints a stream netdev with an empty detail ("s0: index=0,type=stream,"). */
    @Override
    public String info() {
        return id + ": index=0,type=stream,";
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        closing = true;
        selector.wakeup();
        Frames.join(thread);
        try {
            selector.close();
            SocketChannel c = channel;
            if (c != null) {
                c.close();
            }
            if (server != null) {
                server.close();
                if (address instanceof UnixDomainSocketAddress u) {
                    Files.deleteIfExists(u.getPath());
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "{0}: close: {1}", id, e.getMessage());
        }
    }
}
