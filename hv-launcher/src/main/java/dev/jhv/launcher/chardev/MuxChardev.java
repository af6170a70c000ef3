package dev.jhv.launcher.chardev;

import dev.jhv.core.chardev.CharFrontend;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * QEMU's multiplexer ("mon:stdio", -nographic): one host device shared by several users (ports), one of which has
 * the input focus. Ctrl-A starts a command: h help, x quit, c next port, Ctrl-A a literal Ctrl-A.
 * All ports' output goes to the device; the focused port gets the input. A port is "connected" while focused,
 * so a monitor prints its prompt when the focus arrives.
 */
public final class MuxChardev extends Chardev implements CharFrontend {
    static final byte CTRL_A = 0x01;
    /** Input held per port while its front end is full: enough for a pasted line; Ctrl-A still gets through. */
    private static final int PORT_BUFFER = 4096;

    static final String HELP = "\r\n"
            + "C-a h    print this help\r\n"
            + "C-a x    exit emulator\r\n"
            + "C-a c    switch between console and monitor\r\n"
            + "C-a C-a  sends C-a\r\n";

    private final Chardev device;
    private final Runnable quit;
    private final List<Port> ports = new ArrayList<>();
    private int focus;
    private boolean escape;
    private final Object flusherLock = new Object();
    private ExecutorService flusher;

    /** {@code quit} runs on Ctrl-A x (after "jhv: Terminated" is printed). */
    public MuxChardev(Chardev device, Runnable quit) {
        super(true);
        this.device = device;
        this.quit = quit;
    }

    /** Adds a user; the first one added has the focus at start (the serial console, as in QEMU). */
    public synchronized Chardev addPort() {
        var p = new Port(ports.isEmpty());
        ports.add(p);
        return p;
    }

    @Override
    protected void startInput() {
        List<Port> all;
        synchronized (this) {
            all = List.copyOf(ports);
        }
        for (var p : all) {
            p.start();
        }
        device.attach(this);
        device.start();
    }

    /** The index of the port that has the focus. */
    public synchronized int focus() {
        return focus;
    }

    @Override
    public void write(byte[] data, int offset, int length) {
        device.write(data, offset, length);
    }

    @Override
    public void frontendReady() {
        device.frontendReady();
    }

    @Override
    public void close() {
        ExecutorService f;
        synchronized (flusherLock) {
            f = flusher;
        }
        if (f != null) {
            f.shutdownNow();
        }
        device.close();
    }

    @Override
    public String describe() {
        return "mon:" + device.describe();
    }

    @Override
    public synchronized int canReceive() {
        return ports.isEmpty() ? PORT_BUFFER : PORT_BUFFER - ports.get(focus).pendingLength;
    }

    @Override
    public void receive(byte[] data, int offset, int length) {
        boolean quitNow = false;
        synchronized (this) {
            for (int i = offset; i < offset + length && !quitNow; i++) {
                byte b = data[i];
                if (escape) {
                    escape = false;
                    switch (b) {
                        case 'h', '?' -> print(HELP);
                        case 'x' -> {
                            print("\r\njhv: Terminated\r\n");
                            quitNow = true;
                        }
                        case 'c' -> switchFocus();
                        case CTRL_A -> queue(b);
                        default -> { }  // unknown command: ignored, as in QEMU
                    }
                } else if (b == CTRL_A) {
                    escape = true;
                } else {
                    queue(b);
                }
            }
            if (!ports.isEmpty()) {
                ports.get(focus).flush();
            }
        }
        if (quitNow) {
            quit.run();
        }
    }

    private void print(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        device.write(b, 0, b.length);
    }

    private void queue(byte b) {
        if (!ports.isEmpty()) {
            ports.get(focus).queue(b);
        }
    }

    private void switchFocus() {
        if (ports.size() < 2) {
            return;
        }
        var old = ports.get(focus);
        focus = (focus + 1) % ports.size();
        old.setConnected(false);
        ports.get(focus).setConnected(true);
        ports.get(focus).flush();
    }

    /**
     * Called from the front end's thread, typically a vCPU inside the UART: it must neither re-enter the UART nor
     * take the mux lock (a monitor command holding it may be waiting for that vCPU to pause).
     */
    private void scheduleFlush(Port port) {
        ExecutorService f;
        synchronized (flusherLock) {
            if (flusher == null) {
                flusher = Executors.newSingleThreadExecutor(
                        Thread.ofPlatform().name("chardev-mux").daemon().factory());
            }
            f = flusher;
        }
        try {
            f.execute(() -> {
                synchronized (MuxChardev.this) {
                    port.flush();
                }
                device.frontendReady();
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing: nothing more to deliver
        }
    }

    /** One user of the multiplexed device. */
    private final class Port extends Chardev {
        private final byte[] pending = new byte[PORT_BUFFER];
        private int pendingLength;

        Port(boolean focused) {
            super(focused);
        }

        /** Called with the mux lock held. */
        void queue(byte b) {
            if (pendingLength < pending.length) {
                pending[pendingLength++] = b;
            }
        }

        /** Called with the mux lock held. */
        void flush() {
            if (pendingLength == 0) {
                return;
            }
            int taken = deliver(pending, 0, pendingLength);
            System.arraycopy(pending, taken, pending, 0, pendingLength - taken);
            pendingLength -= taken;
        }

        @Override
        public void write(byte[] data, int offset, int length) {
            device.write(data, offset, length);
        }

        @Override
        public void frontendReady() {
            scheduleFlush(this);
        }

        @Override
        public String describe() {
            return MuxChardev.this.describe();
        }
    }
}
