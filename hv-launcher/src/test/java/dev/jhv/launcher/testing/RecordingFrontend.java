package dev.jhv.launcher.testing;

import dev.jhv.core.chardev.CharFrontend;

/** A guest-side front end (like a UART) with an adjustable amount of room; records what it received. */
public final class RecordingFrontend implements CharFrontend {
    public final Output received = new Output();
    private volatile int room;

    public RecordingFrontend(int room) {
        this.room = room;
    }

    public void setRoom(int room) {
        this.room = room;
    }

    @Override
    public int canReceive() {
        return room;
    }

    @Override
    public void receive(byte[] data, int offset, int length) {
        if (length > room) {
            throw new AssertionError("sent " + length + " bytes with room for " + room);
        }
        received.write(data, offset, length);
    }
}
