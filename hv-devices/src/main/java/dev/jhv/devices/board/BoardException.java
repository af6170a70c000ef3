package dev.jhv.devices.board;

/** The board cannot be built as the command line asks; the message is one line for the user. */
public final class BoardException extends RuntimeException {
    public BoardException(String message) {
        super(message);
    }

    public BoardException(String message, Throwable cause) {
        super(message, cause);
    }
}
