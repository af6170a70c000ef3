package dev.jhv.launcher.testing;

import dev.jhv.core.chardev.CharFrontend;

/**
 * A guest-side front end (like a UART) with an adjustable amount of room, which what it receives uses up (as a
 * FIFO fills); records what it received.
 */
public final class RecordingFrontend implements CharFrontend {
    public final Output received = new Output();
    private int room;

    public RecordingFrontend(int room) {
        this.room = room;
    }

    public synchronized void setRoom(int room) {
        this.room = room;
    }

    @Override
    public synchronized int canReceive() {
        return room;
    }

    @Override
    public synchronized void receive(byte[] data, int offset, int length) {
        if (length > room) {
            throw new AssertionError("sent " + length + " bytes with room for " + room);
        }
        room -= length;
        received.write(data, offset, length);
    }
}
