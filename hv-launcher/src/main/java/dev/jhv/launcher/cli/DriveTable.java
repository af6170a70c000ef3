package dev.jhv.launcher.cli;

import dev.jhv.devices.board.DriveSpec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The drives of a command line as QEMU places them: an IDE drive without index= takes the first free index (bus 0
 * master, bus 0 slave, bus 1 master, bus 1 slave); two drives at one index, or two with one id, are refused; and
 * -snapshot makes every drive write to a temporary overlay.
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
        if (d.iface() == DriveSpec.Interface.IDE) {
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

    private boolean taken(int index) {
        return drives.stream().anyMatch(x -> x.iface() == DriveSpec.Interface.IDE && x.index() == index);
    }

    List<DriveSpec> list() {
        return List.copyOf(drives);
    }
}
