package dev.jhv.qcow2;

import java.io.IOException;

/** A qcow2 image is invalid, unsupported, or an operation on it failed; the message names the image. */
public class Qcow2Exception extends IOException {
    public Qcow2Exception(String message) {
        super(message);
    }

    public Qcow2Exception(String message, Throwable cause) {
        super(message, cause);
    }
}
