package dev.jhv.core.chardev;

/**
 * The host side of a character device (stdio, a file, a socket, the monitor multiplexer).
 * A front end (a UART) writes guest output here and is fed host input through {@link CharFrontend}.
 */
public interface CharBackend extends AutoCloseable {
    void write(byte[] data, int offset, int length);

    /** Attaches the front end that receives host input; null detaches. */
    void attach(CharFrontend frontend);

    /** Called by the front end when it has room again after {@link CharFrontend#canReceive()} returned 0. */
    default void frontendReady() { }

    @Override
    default void close() { }

    CharBackend NULL = new CharBackend() {
        @Override
        public void write(byte[] data, int offset, int length) { }

        @Override
        public void attach(CharFrontend frontend) { }
    };
}
