package dev.jhv.qcow2;

import dev.jhv.core.block.BlockDevice;
import dev.jhv.core.block.ImageLock;
import dev.jhv.core.block.RawFileBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Opens a disk image file as a {@link BlockDevice}, probing qcow2 versus raw when no format is given. */
public final class BlockImages {
    private BlockImages() {}

    /** Opened as a guest's disk would be ({@link ImageLock.Access#device}). */
    public static BlockDevice open(Path path, String formatOrNull, boolean readOnly) throws IOException {
        return open(path, formatOrNull, ImageLock.Access.device(!readOnly), 0);
    }

    /** Opened in {@code access}'s role: its locks, its backing files' role; writable when it holds write. */
    public static BlockDevice open(Path path, String formatOrNull, ImageLock.Access access) throws IOException {
        return open(path, formatOrNull, access, 0);
    }

    static BlockDevice open(Path path, String format, ImageLock.Access access, int depth) throws IOException {
        String fmt = format == null || format.isEmpty() ? probe(path) : format;
        return switch (fmt) {
            case "qcow2" -> Qcow2Image.open(path, access, depth);
            case "raw" -> openRaw(path, access);
            default -> throw new Qcow2Exception("Unknown image format '" + fmt + "' for " + path);
        };
    }

    private static RawFileBlockDevice openRaw(Path path, ImageLock.Access access) throws IOException {
        try {
            return new RawFileBlockDevice(path, access);
        } catch (ImageLock.ConflictException e) {
            throw new Qcow2Exception("Could not open '" + path + "': " + e.getMessage(), e);
        }
    }

    /** "qcow2" if the file starts with the qcow2 magic, else "raw". */
    public static String probe(Path path) throws IOException {
        try (var ch = FileChannel.open(path, StandardOpenOption.READ)) {
            var b = ByteBuffer.allocate(4);
            while (b.hasRemaining() && ch.read(b, b.position()) > 0) { }
            return b.position() == 4 && b.getInt(0) == 0x514649fb ? "qcow2" : "raw";
        } catch (java.nio.file.NoSuchFileException e) {
            throw new Qcow2Exception("Could not open '" + path + "': No such file or directory", e);
        } catch (java.nio.file.AccessDeniedException e) {
            throw new Qcow2Exception("Could not open '" + path + "': Permission denied", e);
        } catch (IOException e) {
            throw new Qcow2Exception("Could not open '" + path + "': " + e.getMessage(), e);
        }
    }
}
