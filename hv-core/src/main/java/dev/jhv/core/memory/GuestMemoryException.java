package dev.jhv.core.memory;

/** A guest-physical access outside RAM or crossing a region boundary. */
public final class GuestMemoryException extends RuntimeException {
    public GuestMemoryException(String message) {
        super(message);
    }
}
