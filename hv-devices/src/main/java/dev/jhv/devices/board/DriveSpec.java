package dev.jhv.devices.board;

import java.nio.file.Path;

/**
 * A drive of the command line: -drive file=…,if=…,index=…,media=…,format=…,cache=…,readonly=…,snapshot=…, and the
 * shorthands QEMU turns into one (the positional image, -hda…-hdd, -cdrom). {@code file} is null for a CD-ROM with
 * no medium. {@code index} is -1 when the command line left the place to the board. {@code option} is how the command
 * line gave it, for messages that quote it.
 */
public record DriveSpec(Path file, String format, Interface iface, int index, Media media, String id,
                        boolean readOnly, Cache cache, boolean snapshot, String option) {

    /** if=: where the drive is attached. Only IDE is built so far; the others are refused when the board is built. */
    public enum Interface {
        IDE("ide"), VIRTIO("virtio"), NONE("none"), SCSI("scsi"), FLOPPY("floppy"), SD("sd"), PFLASH("pflash"),
        MTD("mtd");

        public final String qemuName;

        Interface(String qemuName) {
            this.qemuName = qemuName;
        }

        public static Interface byName(String name) {
            for (Interface i : values()) {
                if (i.qemuName.equals(name)) {
                    return i;
                }
            }
            throw new IllegalArgumentException("unsupported bus type '" + name + "'");
        }
    }

    /** media=: an ATA disk or an ATAPI CD-ROM. */
    public enum Media { DISK, CDROM }

    /** cache=: how writes reach the host (writeback is QEMU's default). */
    public enum Cache {
        WRITEBACK, NONE, WRITETHROUGH, DIRECTSYNC, UNSAFE;

        public static Cache byName(String name) {
            try {
                return valueOf(name.toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("invalid cache option");
            }
        }
    }

    public DriveSpec {
        if (media == Media.CDROM) {
            readOnly = true;
        }
    }

    /** A disk as the positional image or -hda gives it: IDE, writable, writeback. */
    public static DriveSpec ideDisk(Path file, int index, String option) {
        return new DriveSpec(file, null, Interface.IDE, index, Media.DISK, null, false, Cache.WRITEBACK, false, option);
    }

    /** -cdrom FILE: the CD-ROM at IDE index 2 (secondary master), as QEMU. */
    public static DriveSpec ideCdrom(Path file, String option) {
        return new DriveSpec(file, null, Interface.IDE, 2, Media.CDROM, null, true, Cache.WRITEBACK, false, option);
    }

    public DriveSpec withSnapshot(boolean on) {
        return new DriveSpec(file, format, iface, index, media, id, readOnly, cache, on, option);
    }

    public DriveSpec withIndex(int i) {
        return new DriveSpec(file, format, iface, i, media, id, readOnly, cache, snapshot, option);
    }
}
