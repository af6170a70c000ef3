package dev.jhv.launcher.chardev;

import dev.jhv.launcher.LauncherException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;

/** "file:PATH": output written to the file, truncated when opened as QEMU does; no input. */
final class FileChardev extends Chardev {
    private final Path path;
    private final OutputStream out;
    private boolean failed;

    FileChardev(Path path) {
        super(true);
        this.path = path;
        try {
            this.out = new FileOutputStream(path.toFile(), false);
        } catch (IOException e) {
            throw new LauncherException("could not open '" + path + "': " + e.getMessage());
        }
    }

    @Override
    public synchronized void write(byte[] data, int offset, int length) {
        if (failed) {
            return;
        }
        try {
            out.write(data, offset, length);
        } catch (IOException e) {
            failed = true;      // a full disk must not stop the guest; report once
            System.getLogger("dev.jhv.launcher.chardev").log(System.Logger.Level.WARNING,
                    "writing to " + path + " failed, further output is dropped: " + e.getMessage());
        }
    }

    @Override
    public synchronized void close() {
        try {
            out.close();
        } catch (IOException e) {
            // closing at exit: nothing left to do about it
        }
    }

    @Override
    public String describe() {
        return "file:" + path;
    }
}
