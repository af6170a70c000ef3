package dev.jhv.core.machine;

/** The machine cannot be built or cannot do what was asked; the message is for the person at the terminal. */
public final class MachineException extends RuntimeException {
    public MachineException(String message) {
        super(message);
    }

    public MachineException(String message, Throwable cause) {
        super(message, cause);
    }
}
