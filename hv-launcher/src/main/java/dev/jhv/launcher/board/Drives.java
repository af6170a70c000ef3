package dev.jhv.launcher.board;

import dev.jhv.core.block.Drive;
import dev.jhv.core.block.ImageLock;
import dev.jhv.devices.board.DriveSpec;
import dev.jhv.launcher.LauncherException;
import dev.jhv.qcow2.BlockImages;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens the images of -drive (and the positional disk image) in the block layer, locked as qemu-system locks a
 * guest's disk: a writable one against every other writer and reader that does not share writing, a read-only
 * one against writers.
 */
final class Drives {
    private Drives() { }

    static List<Drive> open(List<DriveSpec> specs) {
        List<Drive> out = new ArrayList<>();
        int n = 0;
        try {
            for (DriveSpec d : specs) {
                String id = d.id() != null ? d.id() : d.iface().qemuName + n;
                n++;
                try {
                    var dev = BlockImages.open(d.file(), d.format(), ImageLock.Access.device(!d.readOnly()));
                    String format = d.format() != null ? d.format() : BlockImages.probe(d.file());
                    out.add(new Drive(id, d.file(), format, d.readOnly() || dev.isReadOnly(), dev));
                } catch (IOException | RuntimeException e) {
                    ImageLock.ConflictException conflict = conflict(e);
                    if (conflict != null) {
                        // qemu-system's words: the option as typed, then the lock (of a backing file, perhaps)
                        throw new LauncherException(d.option() + ": "
                                + (conflict.path().equals(d.file()) ? "" : "Could not open backing file: ")
                                + conflict.getMessage());
                    }
                    throw new LauncherException("Could not open '" + d.file() + "': "
                            + (e.getMessage() == null ? e.toString() : e.getMessage()));
                }
            }
            return out;
        } catch (LauncherException e) {
            close(out);
            throw e;
        }
    }

    private static ImageLock.ConflictException conflict(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ImageLock.ConflictException c) return c;
        }
        return null;
    }

    static void close(List<Drive> drives) {
        for (Drive d : drives) {
            try {
                d.device().flush();
                d.device().close();
            } catch (IOException | RuntimeException e) {
                System.err.println("jhv: closing '" + d.file() + "': " + e.getMessage());
            }
        }
    }
}
