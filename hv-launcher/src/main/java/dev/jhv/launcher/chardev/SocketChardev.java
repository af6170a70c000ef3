package dev.jhv.launcher.chardev;

import dev.jhv.launcher.LauncherException;
import dev.jhv.launcher.cli.ChardevSpec;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * "unix:PATH" and "tcp:HOST:PORT" through Netty's NIO transport (Netty 4.2's NIO takes UnixDomainSocketAddress
 * natively, so both kinds share this code). As a server it serves one client at a time: further clients wait in
 * the listen queue (QEMU stops accepting while connected) and are taken in turn. Output with no client is dropped.
 */
public final class SocketChardev extends Chardev {
    /** Output queued for a slow client beyond this is dropped instead of growing without bound. */
    private static final int HIGH_WATER = 1 << 20;

    private final ChardevSpec spec;
    private final Path unixPath;
    /** The listening channel (null for a client); set right after bind. */
    private volatile Channel server;
    private final CountDownLatch firstClient = new CountDownLatch(1);
    private volatile Channel client;
    /** Clients accepted while another was connected, served in turn (event loop only). */
    private final ArrayDeque<Channel> waiting = new ArrayDeque<>();
    /** Input the front end could not take yet (event loop only). */
    private final ArrayDeque<byte[]> pending = new ArrayDeque<>();
    private int pendingOffset;

    private SocketChardev(ChardevSpec spec, Path unixPath) {
        super(false);
        this.spec = spec;
        this.unixPath = unixPath;
    }

    /**
     * Opens a socket chardev; a server that must wait for its first client ("server" without "nowait") prints
     * QEMU's waiting line on {@code err} and returns once a client has connected.
     */
    static SocketChardev open(ChardevSpec spec, PrintStream err) {
        SocketAddress address;
        Path unixPath = null;
        boolean isServer;
        boolean wait;
        switch (spec) {
            case ChardevSpec.Unix u -> {
                unixPath = u.path();
                address = UnixDomainSocketAddress.of(u.path());
                isServer = u.server();
                wait = u.waitForClient();
            }
            case ChardevSpec.Tcp t -> {
                String host = t.host().isEmpty() ? (t.server() ? "0.0.0.0" : "localhost") : t.host();
                address = new InetSocketAddress(host, t.port());
                isServer = t.server();
                wait = t.waitForClient();
            }
            default -> throw new IllegalArgumentException("not a socket: " + spec);
        }
        return isServer ? listen(spec, unixPath, address, wait, err) : connect(spec, unixPath, address);
    }

    private static SocketChardev listen(ChardevSpec spec, Path unixPath, SocketAddress address, boolean wait,
                                        PrintStream err) {
        if (unixPath != null) {
            removeStaleSocket(unixPath);
        }
        ChannelFactory<ServerChannel> factory = unixPath != null
                ? NioServerDomainSocketChannel::new : NioServerSocketChannel::new;
        var dev = new SocketChardev(spec, unixPath);
        var bootstrap = new ServerBootstrap()
                .group(NettyLoop.group())
                .channelFactory(factory)
                .option(ChannelOption.ALLOCATOR, NettyLoop.ALLOCATOR)
                .childOption(ChannelOption.ALLOCATOR, NettyLoop.ALLOCATOR)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(HIGH_WATER / 2, HIGH_WATER))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(dev.new ClientHandler());
                    }
                });
        if (unixPath == null) {
            bootstrap.option(ChannelOption.SO_REUSEADDR, true);
        }
        try {
            var f = bootstrap.bind(address).awaitUninterruptibly();
            if (!f.isSuccess()) {
                throw new LauncherException("Failed to bind socket to " + target(unixPath, address) + ": "
                        + reason(f.cause()));
            }
            dev.server = f.channel();
        } catch (RuntimeException e) {
            if (e instanceof LauncherException) {
                throw e;
            }
            throw new LauncherException("Failed to bind socket to " + target(unixPath, address) + ": " + reason(e));
        }
        if (wait) {
            err.println("jhv: waiting for connection on: disconnected:" + dev.describe());
            err.flush();
            try {
                dev.firstClient.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                dev.close();
                throw new LauncherException("interrupted while waiting for a connection on " + dev.describe());
            }
        }
        return dev;
    }

    private static SocketChardev connect(ChardevSpec spec, Path unixPath, SocketAddress address) {
        ChannelFactory<Channel> factory = unixPath != null ? NioDomainSocketChannel::new : NioSocketChannel::new;
        var dev = new SocketChardev(spec, unixPath);
        var f = new Bootstrap()
                .group(NettyLoop.group())
                .channelFactory(factory)
                .option(ChannelOption.ALLOCATOR, NettyLoop.ALLOCATOR)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(HIGH_WATER / 2, HIGH_WATER))
                .handler(dev.new ClientHandler())
                .connect(address)
                .awaitUninterruptibly();
        if (!f.isSuccess()) {
            String target = target(unixPath, address);
            String why = reason(f.cause());
            String annotation = ": " + (unixPath != null ? unixPath : address);
            if (why.endsWith(annotation)) {
                why = why.substring(0, why.length() - annotation.length());   // Netty appends the address
            }
            throw new LauncherException("Failed to connect to '" + target + "': " + why);
        }
        // channelActive, which makes the channel ours, runs on the event loop just after the future completes:
        // output written before then would be dropped
        try {
            if (!dev.firstClient.await(10, TimeUnit.SECONDS)) {
                throw new LauncherException("Failed to connect to '" + target(unixPath, address)
                        + "': the connection never became active");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            dev.close();
            throw new LauncherException("interrupted while connecting to " + dev.describe());
        }
        return dev;
    }

    private static void removeStaleSocket(Path path) {
        try {
            // QEMU unlinks an old socket before binding; a regular file is left alone (the bind then fails).
            if (Files.exists(path) && !Files.isRegularFile(path) && !Files.isDirectory(path)) {
                Files.delete(path);
            }
        } catch (IOException e) {
            throw new LauncherException("cannot remove the old socket " + path + ": " + e.getMessage());
        }
    }

    private static String target(Path unixPath, SocketAddress address) {
        if (unixPath != null) {
            return unixPath.toString();
        }
        var inet = (InetSocketAddress) address;
        return inet.getHostString() + ":" + inet.getPort();
    }

    private static String reason(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }

    /** The address the server listens on (for tcp port 0: the port chosen). */
    public SocketAddress localAddress() {
        Channel s = server;
        return s != null ? s.localAddress() : null;
    }

    @Override
    public void write(byte[] data, int offset, int length) {
        Channel c = client;
        if (c == null || !c.isActive() || !c.isWritable()) {
            return;     // no client, or a client not reading: drop like a disconnected serial line
        }
        c.writeAndFlush(Unpooled.wrappedBuffer(Arrays.copyOfRange(data, offset, offset + length)));
    }

    @Override
    public void frontendReady() {
        Channel c = client;
        if (c != null) {
            c.eventLoop().execute(this::drain);
        }
    }

    /** Feeds pending input to the front end; reading pauses while it is full (event loop only). */
    private void drain() {
        Channel c = client;
        while (!pending.isEmpty()) {
            byte[] head = pending.peek();
            int taken = deliver(head, pendingOffset, head.length - pendingOffset);
            pendingOffset += taken;
            if (pendingOffset == head.length) {
                pending.poll();
                pendingOffset = 0;
            } else if (taken == 0) {
                if (c != null) {
                    c.config().setAutoRead(false);
                }
                return;
            }
        }
        if (c != null && !c.config().isAutoRead()) {
            c.config().setAutoRead(true);
        }
    }

    @Override
    public void close() {
        Channel c = client;
        if (c != null) {
            c.close().awaitUninterruptibly();
        }
        Channel s = server;
        if (s != null) {
            s.close().awaitUninterruptibly();
            if (unixPath != null) {
                try {
                    Files.deleteIfExists(unixPath);
                } catch (IOException e) {
                    // left behind; the next bind removes it
                }
            }
        }
    }

    @Override
    public String describe() {
        return spec.describe();
    }

    /** One connection's events, on the event loop. */
    private final class ClientHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (client == null) {
                take(ctx.channel());
            } else {
                ctx.channel().config().setAutoRead(false);
                waiting.add(ctx.channel());
                Channel s = server;
                if (s != null) {
                    s.config().setAutoRead(false);     // leave further clients in the listen queue
                }
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            var buf = (ByteBuf) msg;
            try {
                if (ctx.channel() != client) {
                    return;
                }
                byte[] bytes = new byte[buf.readableBytes()];
                buf.readBytes(bytes);
                pending.add(bytes);
            } finally {
                buf.release();
            }
            drain();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (ctx.channel() != client) {
                waiting.remove(ctx.channel());
                return;
            }
            client = null;
            pending.clear();
            pendingOffset = 0;
            setConnected(false);
            Channel next = waiting.poll();
            if (next != null) {
                take(next);
            } else if (server != null) {
                server.config().setAutoRead(true);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();    // a reset connection ends that client only
        }

        private void take(Channel ch) {
            client = ch;
            ch.config().setAutoRead(true);
            setConnected(true);
            firstClient.countDown();
        }
    }
}
