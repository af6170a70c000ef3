package dev.jhv.core.chardev;

/** The guest side of a character device: a UART receiving bytes from the host. */
public interface CharFrontend {
    /** How many bytes the front end can take now (0 = full; the back end waits for frontendReady). */
    int canReceive();

    void receive(byte[] data, int offset, int length);
}
