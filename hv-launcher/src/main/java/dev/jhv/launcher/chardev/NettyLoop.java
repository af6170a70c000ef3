package dev.jhv.launcher.chardev;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;

/** The one Netty event loop of the socket chardevs, created on first use so jhv without sockets never loads Netty. */
final class NettyLoop {
    /**
     * Unpooled buffers: a chardev moves a few kilobytes at a time. Netty 4.2's default adaptive allocator also
     * loads and registers its JFR event classes on first use, which costs start-up time for nothing here.
     */
    static final ByteBufAllocator ALLOCATOR = new UnpooledByteBufAllocator(true);

    private NettyLoop() { }

    private static final class Holder {
        static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(1,
                Thread.ofPlatform().name("chardev-io").daemon().factory(), NioIoHandler.newFactory());
    }

    static EventLoopGroup group() {
        return Holder.GROUP;
    }
}
