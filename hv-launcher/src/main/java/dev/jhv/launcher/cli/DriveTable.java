package dev.jhv.launcher.cli;

import dev.jhv.devices.board.DeviceSpec;
import dev.jhv.devices.board.DriveSpec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The drives of a command line as QEMU places them: an IDE drive without index= takes the first free index (bus 0
 * master, bus 0 slave, bus 1 master, bus 1 slave); two drives at one index, or two with one id, are refused; and
 * -snapshot makes every drive write to a temporary overlay.
 *
 * <p>if=virtio and if=none drives are numbered apart from IDE's, each interface from 0, and named as QEMU names
 * them when they have no id= (virtio0, virtio1, none0). {@link #withDevices} links the -device options to the drives
 * they name and adds the virtio-blk-pci device each if=virtio drive implies.
 */
final class DriveTable {
    private static final int IDE_INDEXES = 4;

    private final boolean snapshot;
    private final List<DriveSpec> drives = new ArrayList<>();
    private final Set<String> ids = new HashSet<>();

    DriveTable(boolean snapshot) {
        this.snapshot = snapshot;
    }

    /** Adds {@code d}, given on the command line as {@code option}. */
    void add(String option, DriveSpec d) {
        if (d.id() != null && !ids.add(d.id())) {
            throw new UsageException(option + ": Duplicate ID '" + d.id() + "' for drive");
        }
        if (d.iface() == DriveSpec.Interface.VIRTIO || d.iface() == DriveSpec.Interface.NONE) {
            d = numbered(option, d);
        } else if (d.iface() == DriveSpec.Interface.IDE) {
            int index = d.index();
            if (index < 0) {
                index = 0;
                while (taken(index)) {
                    index++;
                }
                if (index >= IDE_INDEXES) {
                    throw new UsageException(option + ": no free IDE position: the PC has IDE buses 0 and 1, two "
                            + "units each");
                }
                d = d.withIndex(index);
            } else if (taken(index)) {
                throw new UsageException(String.format("%s: drive with bus=%d, unit=%d (index=%d) exists", option,
                        index / 2, index % 2, index));
            }
        }
        drives.add(snapshot && !d.snapshot() ? d.withSnapshot(true) : d);
    }

    /** A virtio or none drive: the first free index of its interface, and its default id (virtio0). */
    private DriveSpec numbered(String option, DriveSpec d) {
        int index = d.index();
        if (index < 0) {
            index = 0;
            while (taken(d.iface(), index)) {
                index++;
            }
        } else if (taken(d.iface(), index)) {
            throw new UsageException(String.format("%s: drive with bus=0, unit=%d (index=%d) exists", option,
                    index, index));
        }
        String id = d.id();
        if (id == null) {
            id = d.iface().qemuName + index;
            if (!ids.add(id)) {
                throw new UsageException(option + ": Duplicate ID '" + id + "' for drive");
            }
        }
        return new DriveSpec(d.file(), d.format(), d.iface(), index, d.media(), id, d.readOnly(), d.cache(),
                d.snapshot(), d.option());
    }

    private boolean taken(DriveSpec.Interface iface, int index) {
        return drives.stream().anyMatch(x -> x.iface() == iface && x.index() == index);
    }

    /**
     * The devices of the command line ({@code texts} are their -device texts, for messages), each virtio-blk-pci
     * checked against the drives, followed by the virtio-blk-pci devices the if=virtio drives imply, in QEMU's
     * order: the board's own drives (IDE) are attached first, then the -device options, then the implied devices,
     * so that a drive claimed twice is refused where QEMU refuses it, in QEMU's words.
     */
    List<DeviceSpec> withDevices(List<String> texts, List<DeviceSpec> devices) {
        var out = new ArrayList<DeviceSpec>(devices);
        var attached = new HashSet<String>();
        for (int i = 0; i < devices.size(); i++) {
            if (!(devices.get(i) instanceof DeviceSpec.VirtioBlkPci v)) {
                continue;
            }
            String option = "-device " + texts.get(i);
            DriveSpec d = byId(v.drive());
            if (d == null) {
                throw new UsageException(option + ": Property 'virtio-blk-device.drive' can't find value '"
                        + v.drive() + "'");
            }
            if (d.iface() != DriveSpec.Interface.NONE && d.iface() != DriveSpec.Interface.VIRTIO) {
                throw new UsageException(option + ": " + autoConnected(v.drive()));
            }
            if (!attached.add(v.drive())) {
                throw new UsageException(option + ": Drive '" + v.drive() + "' is already in use by another device");
            }
        }
        for (DriveSpec d : drives) {
            if (d.iface() != DriveSpec.Interface.VIRTIO) {
                continue;
            }
            if (!attached.add(d.id())) {
                throw new UsageException(d.option() + ": " + autoConnected(d.id()));
            }
            out.add(new DeviceSpec.VirtioBlkPci(null, d.id(), Optional.empty(), null, 0));
        }
        return List.copyOf(out);
    }

    private static String autoConnected(String id) {
        return "Drive '" + id + "' is already in use because it has been automatically connected to another device "
                + "(did you need 'if=none' in the drive options?)";
    }

    /** The drive named {@code id}: its id=, or QEMU's name for an IDE drive without one (ide0-hd0, ide1-cd0). */
    private DriveSpec byId(String id) {
        for (DriveSpec d : drives) {
            String name = d.id();
            if (name == null && d.iface() == DriveSpec.Interface.IDE && d.index() >= 0) {
                name = "ide" + d.index() / 2 + (d.media() == DriveSpec.Media.CDROM ? "-cd" : "-hd") + d.index() % 2;
            }
            if (id.equals(name)) {
                return d;
            }
        }
        return null;
    }

    private boolean taken(int index) {
        return drives.stream().anyMatch(x -> x.iface() == DriveSpec.Interface.IDE && x.index() == index);
    }

    List<DriveSpec> list() {
        return List.copyOf(drives);
    }
}
