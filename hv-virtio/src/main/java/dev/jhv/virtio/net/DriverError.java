package dev.jhv.virtio.net;

/**
 * The driver broke the device's rules in a way no ack can answer (a transmit header cut short, a control request
 * without its ack byte, a merged receive buffer too short for the header): the device asks for a reset.
 */
final class DriverError extends Exception {
    DriverError(String message) {
        super(message);
    }
}
