package dev.jhv.launcher.chardev;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * "stdio": output to standard output, input from standard input on a daemon thread ("chardev-stdio-in").
 * A terminal on stdin is put in raw mode and restored on close or at exit.
 */
final class StdioChardev extends Chardev {
    private final InputStream in;
    private final OutputStream out;
    private final TerminalMode terminal;
    private final Object readyLock = new Object();
    private boolean ready;

    /**
     * Streams are given so tests can use pipes; {@code raw}: switch a terminal on stdin to raw mode;
     * {@code signals}: Ctrl-C and the other signal keys stay signals (false: they reach the guest as bytes).
     */
    StdioChardev(InputStream in, OutputStream out, boolean raw, boolean signals) {
        super(true);
        this.in = in;
        this.out = out;
        this.terminal = raw ? TerminalMode.enterRawIfTerminal(signals) : null;
    }

    @Override
    protected void startInput() {
        var t = new Thread(this::pump, "chardev-stdio-in");
        t.setDaemon(true);
        t.start();
    }

    private void pump() {
        byte[] buf = new byte[4096];
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                int off = 0;
                while (off < n) {
                    synchronized (readyLock) {
                        ready = false;
                    }
                    int taken = deliver(buf, off, n - off);
                    off += taken;
                    if (taken == 0) {
                        awaitReady();
                    }
                }
            }
        } catch (IOException e) {
            // stdin closed under us: like QEMU, stop reading and keep the guest running
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for frontendReady(); the bounded wait re-polls canReceive() in case a front end never signals. */
    private void awaitReady() throws InterruptedException {
        synchronized (readyLock) {
            if (!ready) {
                readyLock.wait(100);
            }
        }
    }

    @Override
    public void frontendReady() {
        synchronized (readyLock) {
            ready = true;
            readyLock.notifyAll();
        }
    }

    @Override
    public synchronized void write(byte[] data, int offset, int length) {
        try {
            out.write(data, offset, length);
            out.flush();
        } catch (IOException e) {
            // stdout gone (a closed pipe): drop output, the guest keeps running
        }
    }

    @Override
    public void close() {
        if (terminal != null) {
            terminal.restore();
        }
    }

    @Override
    public String describe() {
        return "stdio";
    }
}
