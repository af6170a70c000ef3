package dev.jhv.launcher.testing;

import dev.jhv.launcher.chardev.Chardev;
import java.nio.charset.StandardCharsets;

/** An in-memory chardev: the test types input and reads the output. */
public final class TestChardev extends Chardev {
    public final Output output = new Output();
    /** Input that is already waiting when the chardev starts (as piped stdin is), or null. */
    private final String waiting;

    public TestChardev(boolean connected) {
        this(connected, null);
    }

    public TestChardev(boolean connected, String waitingInput) {
        super(connected);
        this.waiting = waitingInput;
    }

    @Override
    protected void startInput() {
        if (waiting != null) {
            type(waiting);
        }
    }

    /** Feeds input to the front end; returns how many bytes it took. */
    public int type(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return deliver(b, 0, b.length);
    }

    private final Object roomLock = new Object();
    private boolean room;

    /**
     * Feeds all of {@code input}, however long: when the front end has no room, waits until it says it has
     * ({@link #frontendReady()}), as a real chardev holds back.
     */
    public void typeAll(byte[] input) throws InterruptedException {
        int at = 0;
        while (at < input.length) {
            synchronized (roomLock) {
                room = false;
            }
            int n = deliver(input, at, input.length - at);
            at += n;
            if (n == 0) {
                synchronized (roomLock) {
                    while (!room) {
                        roomLock.wait();
                    }
                }
            }
        }
    }

    @Override
    public void frontendReady() {
        synchronized (roomLock) {
            room = true;
            roomLock.notifyAll();
        }
    }

    public void connect(boolean on) {
        setConnected(on);
    }

    @Override
    public void write(byte[] data, int offset, int length) {
        output.write(data, offset, length);
    }

    @Override
    public String describe() {
        return "test";
    }
}
