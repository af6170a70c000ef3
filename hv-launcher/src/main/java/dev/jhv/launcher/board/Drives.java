package dev.jhv.launcher.board;

import dev.jhv.core.block.CacheMode;
import dev.jhv.core.block.Drive;
import dev.jhv.core.block.RawFileBlockDevice;
import dev.jhv.core.block.ImageLock;
import dev.jhv.devices.board.DriveSpec;
import dev.jhv.qcow2.Qcow2Image;

import java.nio.file.Files;
import java.nio.file.Path;
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

    /** The drives of {@code specs}, in their order; null for a CD-ROM drive with no medium. */
    static List<Drive> open(List<DriveSpec> specs) {
        List<Drive> out = new ArrayList<>();
        int n = 0;
        try {
            for (DriveSpec d : specs) {
                String id = d.id() != null ? d.id() : defaultId(d, n);
                n++;
                if (d.file() == null) {
                    out.add(null); // a CD-ROM drive with no medium: the board gives it its place, empty
                    continue;
                }
                try {
                    if (d.snapshot() && !d.readOnly()) {
                        out.add(snapshotOverlay(id, d));
                        continue;
                    }
                    String format = d.format() != null ? d.format() : BlockImages.probe(d.file());
                    var dev = open(d, format);
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

    /**
     * A raw image is opened for the drive's cache= (O_DIRECT for none and directsync, O_DSYNC for writethrough and
     * directsync, flushes ignored for unsafe); a qcow2 image as always (writeback).
     */
    private static dev.jhv.core.block.BlockDevice open(DriveSpec d, String format) throws IOException {
        var access = ImageLock.Access.device(!d.readOnly());
        if (format.equals("raw")) {
            return new RawFileBlockDevice(d.file(), access, CacheMode.valueOf(d.cache().name()));
        }
        return BlockImages.open(d.file(), format, access);
    }

    /**
     * snapshot=on (or -snapshot): the guest writes to a temporary qcow2 overlay over the image, which is only read;
     * the overlay is unlinked at once, so it goes with the process whatever way it ends (as QEMU's).
     */
    private static Drive snapshotOverlay(String id, DriveSpec d) throws IOException {
        String format = d.format() != null ? d.format() : BlockImages.probe(d.file());
        long size;
        try (var base = BlockImages.open(d.file(), format, true)) {
            size = base.size();
        }
        Path overlay = Files.createTempFile("jhv-snapshot-", ".qcow2");
        try {
            Qcow2Image.create(overlay, Qcow2Image.CreateOptions.of(size)
                    .withBacking(d.file().toAbsolutePath().toString(), format)).close();
            var dev = BlockImages.open(overlay, "qcow2", ImageLock.Access.device(true));
            return new Drive(id, overlay, "qcow2", false, dev);
        } finally {
            Files.deleteIfExists(overlay);
        }
    }

    /** QEMU's names: ide0-hd0, ide1-cd0 (bus, kind, unit) for IDE; otherwise the interface and a count. */
    private static String defaultId(DriveSpec d, int n) {
        if (d.iface() == DriveSpec.Interface.IDE && d.index() >= 0) {
            return "ide" + d.index() / 2 + (d.media() == DriveSpec.Media.CDROM ? "-cd" : "-hd") + d.index() % 2;
        }
        return d.iface().qemuName + n;
    }

    private static ImageLock.ConflictException conflict(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ImageLock.ConflictException c) return c;
        }
        return null;
    }

    static void close(List<Drive> drives) {
        for (Drive d : drives) {
            if (d == null) {
                continue;
            }
            try {
                d.device().flush();
                d.device().close();
            } catch (IOException | RuntimeException e) {
                System.err.println("jhv: closing '" + d.file() + "': " + e.getMessage());
            }
        }
    }
}
