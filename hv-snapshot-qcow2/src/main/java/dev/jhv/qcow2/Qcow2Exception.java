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

    /** Why a file operation failed, in the words of strerror(3) where the JDK leaves them out. */
    public static String reason(IOException e) {
        if (e instanceof java.nio.file.FileSystemException f) {
            if (f.getReason() != null) return f.getReason();
            return switch (f) {
                case java.nio.file.NoSuchFileException x -> "No such file or directory";
                case java.nio.file.AccessDeniedException x -> "Permission denied";
                case java.nio.file.FileAlreadyExistsException x -> "File exists";
                case java.nio.file.NotDirectoryException x -> "Not a directory";
                default -> "Input/output error";
            };
        }
        return e.getMessage() != null ? e.getMessage() : "Input/output error";
    }
}
