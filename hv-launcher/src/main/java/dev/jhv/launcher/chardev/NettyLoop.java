package dev.jhv.launcher.chardev;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;

/** The one Netty event loop of the socket chardevs, created on first use so jhv without sockets never loads Netty. */
final class NettyLoop {
    private NettyLoop() { }

    private static final class Holder {
        static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(1,
                Thread.ofPlatform().name("chardev-io").daemon().factory(), NioIoHandler.newFactory());
    }

    static EventLoopGroup group() {
        return Holder.GROUP;
    }
}
