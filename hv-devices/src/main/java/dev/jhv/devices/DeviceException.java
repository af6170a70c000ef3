package dev.jhv.devices;

/** A device could not be built as configured; the message is written for the person at the command line. */
public class DeviceException extends RuntimeException {
    public DeviceException(String message) {
        super(message);
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
    }
}
