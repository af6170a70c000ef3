package dev.jhv.launcher.chardev;

import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.chardev.CharFrontend;

/**
 * A host character device of the launcher: a {@link CharBackend} that also says when a peer is there
 * (a socket client connected, the multiplexer's focus arrived), the way QEMU's chardev events do.
 * Input flows to the attached front end no faster than its {@link CharFrontend#canReceive()} allows;
 * the front end calls {@link #frontendReady()} when it has room again. No front end: input is dropped.
 */
public abstract class Chardev implements CharBackend {
    /** QEMU's CHR_EVENT_OPENED / CLOSED (and, for a multiplexer's port, MUX_IN / MUX_OUT). */
    public interface Listener {
        void opened();

        default void closed() { }
    }

    private volatile CharFrontend frontend;
    private volatile Listener listener;
    private volatile boolean started;
    private volatile boolean connected;

    protected Chardev(boolean connected) {
        this.connected = connected;
    }

    @Override
    public void attach(CharFrontend frontend) {
        this.frontend = frontend;
    }

    public void setListener(Listener listener) {
        this.listener = listener;
    }

    /** Starts reading input and reporting events; call once every front end and listener is attached. */
    public final void start() {
        started = true;
        // the peer's arrival first: a monitor greets before it answers input that was already waiting (piped stdin)
        if (connected) {
            fire(true);
        }
        startInput();
    }

    /** Whether a peer is there (always true for stdio, null, file). */
    public boolean isConnected() {
        return connected;
    }

    /** The device as QEMU's messages name it ("unix:/tmp/m,server=on"). */
    public abstract String describe();

    protected void startInput() { }

    protected final void setConnected(boolean now) {
        boolean was = connected;
        connected = now;
        if (started && was != now) {
            fire(now);
        }
    }

    private void fire(boolean open) {
        var l = listener;
        if (l != null) {
            if (open) {
                l.opened();
            } else {
                l.closed();
            }
        }
    }

    protected final CharFrontend frontend() {
        return frontend;
    }

    /** Hands input to the front end as far as it takes it; returns the bytes taken (all of them if nobody listens). */
    protected final int deliver(byte[] data, int offset, int length) {
        var f = frontend;
        if (f == null) {
            return length;
        }
        int room = f.canReceive();
        if (room <= 0) {
            return 0;
        }
        int n = Math.min(room, length);
        f.receive(data, offset, n);
        return n;
    }
}
