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
