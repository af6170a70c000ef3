package dev.jhv.core.net;

import dev.jhv.core.sys.Epoll;
import dev.jhv.core.sys.Errno;
import dev.jhv.core.sys.EventFd;
import dev.jhv.core.sys.Libc;
import dev.jhv.core.sys.SysCallException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * -netdev tap: a Linux tap interface through /dev/net/tun (tuntap.rst): one frame per read and per write, with a
 * 12-byte virtio_net_hdr_v1 in front when IFF_VNET_HDR is on, so that the kernel takes checksum and segmentation
 * offloads from the guest. The fd is non-blocking; the backend's thread waits on it with epoll.
 */
public final class TapBackend implements NetBackend {
    /** _IOW('T', 202, int) and friends from linux/if_tun.h. */
    private static final long TUNSETIFF = 0x400454caL;
    private static final long TUNSETOFFLOAD = 0x400454d0L;
    private static final long TUNGETFEATURES = 0x800454cfL;
    private static final long TUNSETVNETHDRSZ = 0x400454d8L;
    private static final short IFF_TAP = 0x0002;
    private static final short IFF_NO_PI = 0x1000;
    private static final short IFF_VNET_HDR = 0x4000;
    private static final int TUN_F_CSUM = 0x01;
    private static final int TUN_F_TSO4 = 0x02;
    private static final int TUN_F_TSO6 = 0x04;
    private static final int TUN_F_TSO_ECN = 0x08;
    private static final int TUN_F_UFO = 0x10;
    /** struct ifreq: the name (IFNAMSIZ 16) then a union whose first member is the short ifr_flags. */
    private static final int IFREQ_BYTES = 40;
    private static final int IFNAMSIZ = 16;
    private static final int VNET_HDR_LEN = 12;
    /** A GSO frame is up to 64 KiB plus its headers. */
    private static final int FRAME_BUFFER = 1 << 17;
    private static final int TOKEN_TAP = 0;
    private static final int TOKEN_CONTROL = 1;
    /** Frames read per wake-up before looking at the control eventfd again. */
    private static final int READ_BATCH = 64;
    private static final System.Logger LOG = System.getLogger("jhv.net.tap");

    private final String id;
    private final String ifname;
    private final int fd;
    private final int vnetHeaderLength;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment readBuffer = arena.allocate(FRAME_BUFFER, 16);
    private final MemorySegment sendBuffer = arena.allocate(FRAME_BUFFER, 16);
    private final Epoll epoll = new Epoll();
    private final EventFd control = EventFd.create(true);
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean closing;
    private volatile boolean wantWritable;
    private volatile boolean resumeRequested;
    /** Loop thread only: a frame held in readBuffer that the receiver refused, and its length. */
    private boolean paused;
    private int pendingLength;
    private Receiver receiver;
    private final Frames.DropLog drops;
    private Thread thread;

    private TapBackend(String id, String ifname, int fd, int vnetHeaderLength) {
        this.id = id;
        this.drops = new Frames.DropLog(LOG, id);
        this.ifname = ifname;
        this.fd = fd;
        this.vnetHeaderLength = vnetHeaderLength;
    }

    /**
     * Opens (or creates) the tap interface of {@code config}.
     *
     * @throws NetBackendException with QEMU's line: "could not configure /dev/net/tun (tap0): Operation not permitted"
     */
    public static TapBackend open(NetdevConfig.Tap config) {
        int fd;
        try {
            fd = Libc.open("/dev/net/tun", Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        } catch (SysCallException e) {
            throw new NetBackendException("could not open /dev/net/tun: " + Libc.strerror(e.errno()));
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment word = a.allocate(ValueLayout.JAVA_INT);
            boolean offered = Libc.tryIoctl(fd, TUNGETFEATURES, word) == 0
                    && (word.get(ValueLayout.JAVA_INT, 0) & IFF_VNET_HDR) != 0;
            boolean vnet = config.vnetHdr() == null ? offered : config.vnetHdr();
            if (vnet && !offered) {
                throw new NetBackendException("vnet_hdr=1 requested, but no kernel support for IFF_VNET_HDR available");
            }
            String asked = config.ifname() == null ? "" : config.ifname();
            if (asked.getBytes().length >= IFNAMSIZ) {
                throw new NetBackendException("could not configure /dev/net/tun (" + asked + "): the name is longer"
                        + " than " + (IFNAMSIZ - 1) + " bytes");
            }
            MemorySegment ifr = a.allocate(IFREQ_BYTES, 8);
            ifr.setString(0, asked);
            ifr.set(ValueLayout.JAVA_SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0)));
            int rc = Libc.tryIoctl(fd, TUNSETIFF, ifr);
            if (rc < 0) {
                throw new NetBackendException("could not configure /dev/net/tun ("
                        + (asked.isEmpty() ? "tap%d" : asked) + "): " + Libc.strerror(-rc));
            }
            String name = ifr.getString(0);
            if (vnet) {
                word.set(ValueLayout.JAVA_INT, 0, VNET_HDR_LEN);
                rc = Libc.tryIoctl(fd, TUNSETVNETHDRSZ, word);
                if (rc < 0) {
                    throw new NetBackendException("could not set the vnet header size of " + name + ": "
                            + Libc.strerror(-rc));
                }
                // no offloads until the guest accepts them: the kernel must not hand us GSO frames before then
                Libc.tryIoctl(fd, TUNSETOFFLOAD, 0);
            }
            return new TapBackend(config.id(), name, fd, vnet ? VNET_HDR_LEN : 0);
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    @Override
    public String id() {
        return id;
    }

    /** The host interface's name (the kernel's choice when none was given). */
    public String ifname() {
        return ifname;
    }

    @Override
    public int vnetHeaderLength() {
        return vnetHeaderLength;
    }

    @Override
    public void setOffloads(boolean csum, boolean tso4, boolean tso6, boolean ecn, boolean ufo) {
        if (vnetHeaderLength == 0) {
            return;
        }
        int flags = (csum ? TUN_F_CSUM : 0) | (tso4 ? TUN_F_TSO4 : 0) | (tso6 ? TUN_F_TSO6 : 0)
                | (ecn ? TUN_F_TSO_ECN : 0) | (ufo ? TUN_F_UFO : 0);
        int rc = Libc.tryIoctl(fd, TUNSETOFFLOAD, flags);
        if (rc < 0 && (flags & TUN_F_UFO) != 0) {
            rc = Libc.tryIoctl(fd, TUNSETOFFLOAD, flags & ~TUN_F_UFO);   // kernels since 4.14 refuse UFO
        }
        if (rc < 0) {
            LOG.log(System.Logger.Level.WARNING, "{0}: TUNSETOFFLOAD 0x{1}: {2}", ifname,
                    Integer.toHexString(flags), Errno.name(-rc));
        }
    }

    @Override
    public boolean send(List<MemorySegment> parts) {
        synchronized (sendBuffer) {
            long len = Frames.gather(parts, sendBuffer);
            if (len < 0) {
                drops.drop("a frame of more than " + FRAME_BUFFER + " bytes");
                return true;
            }
            long rc = Libc.tryWrite(fd, sendBuffer, len);
            if (rc == -Errno.EAGAIN) {
                wantWritable = true;
                updateInterest();
                return false;
            }
            if (rc < 0) {
                drops.drop("write: " + Errno.name((int) -rc));
            }
            return true;
        }
    }

    @Override
    public void start(Receiver receiver) {
        Frames.checkNotStarted(id, this.receiver);
        this.receiver = receiver;
        epoll.add(control.fd(), Epoll.EPOLLIN, TOKEN_CONTROL);
        epoll.add(fd, Epoll.EPOLLIN, TOKEN_TAP);
        thread = Frames.startLoop(id, this::loop);
    }

    @Override
    public void resumeReceive() {
        resumeRequested = true;
        control.signal();
    }

    private synchronized void updateInterest() {
        if (closing || receiver == null) {
            return;
        }
        int events = (paused ? 0 : Epoll.EPOLLIN) | (wantWritable ? Epoll.EPOLLOUT : 0);
        epoll.modify(fd, events, TOKEN_TAP);
    }

    private void loop() {
        try {
            while (!closing) {
                Epoll.Ready r = epoll.await(-1);
                for (int i = 0; i < r.count(); i++) {
                    if (r.token(i) == TOKEN_CONTROL) {
                        control.read();
                    } else {
                        int ev = r.events(i);
                        if ((ev & Epoll.EPOLLOUT) != 0 && wantWritable) {
                            wantWritable = false;
                            updateInterest();
                            receiver.writable();
                        }
                        if ((ev & (Epoll.EPOLLIN | Epoll.EPOLLERR)) != 0 && !paused) {
                            readFrames();
                        }
                    }
                }
                if (resumeRequested && !closing) {
                    resumeRequested = false;
                    if (paused && receiver.receive(readBuffer.asSlice(0, pendingLength))) {
                        paused = false;
                        updateInterest();
                    }
                }
            }
        } catch (RuntimeException e) {
            if (!closing) {
                LOG.log(System.Logger.Level.ERROR, ifname + ": the receive loop stopped", e);
            }
        }
    }

    private void readFrames() {
        for (int n = 0; n < READ_BATCH; n++) {
            long len = Libc.tryRead(fd, readBuffer, FRAME_BUFFER);
            if (len == -Errno.EAGAIN || len == -Errno.EINTR) {
                return;
            }
            if (len < 0) {
                drops.drop("read: " + Errno.name((int) -len));
                return;
            }
            if (!receiver.receive(readBuffer.asSlice(0, len))) {
                paused = true;
                pendingLength = (int) len;
                updateInterest();
                return;
            }
        }
    }

    @Override
    public String info() {
        return id + ": index=0,type=tap,ifname=" + ifname + ",script=no,downscript=no";
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        closing = true;
        control.signal();
        Frames.join(thread);
        epoll.close();
        control.close();
        Libc.close(fd);
        arena.close();
    }
}
