package dev.jhv.migration.snapshot;

import dev.jhv.core.block.Drive;
import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.RunState;
import dev.jhv.migration.machine.MachineState;
import dev.jhv.qcow2.Qcow2Image;
import dev.jhv.qcow2.snapshot.Snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * QEMU's savevm/loadvm/delvm: the machine state goes into the vm-state area of the first writable qcow2 drive,
 * and every writable qcow2 drive gets an internal snapshot of the same name.
 */
public final class InternalSnapshots {
    private final Machine machine;
    private final List<Drive> drives;

    public InternalSnapshots(Machine machine, List<Drive> drives) {
        this.machine = machine;
        this.drives = List.copyOf(drives);
    }

    /** The drives that take part: writable qcow2 images. */
    private List<Qcow2Image> snapshotImages() {
        List<Qcow2Image> out = new ArrayList<>();
        for (Drive d : drives) {
            if (d.readOnly()) {
                continue;
            }
            if (!(d.device() instanceof Qcow2Image q)) {
                throw new SnapshotException("Device '" + d.id() + "' is writable but does not support snapshots");
            }
            out.add(q);
        }
        if (out.isEmpty()) {
            throw new SnapshotException("No block device can accept snapshots (savevm needs a writable qcow2 drive)");
        }
        return out;
    }

    /**
     * savevm [tag]: returns the tag used (QEMU's vm-YYYYMMDDHHMMSS when none is given). One state operation at a
     * time: a save or load under way is waited for, a running migration refuses it.
     */
    public String save(String tagOrNull) {
        machine.requireNotIncoming();
        return machine.operations().operation(() -> saveNow(tagOrNull));
    }

    private String saveNow(String tagOrNull) {
        List<Qcow2Image> images = snapshotImages();
        String tag = tagOrNull == null || tagOrNull.isBlank()
                ? "vm-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMddHHmmss")) : tagOrNull;
        RunState before = machine.enterSaveState(RunState.SAVE_VM);
        try {
            long clockNs = vmClockNs();
            // An existing snapshot of that name is replaced, as QEMU does.
            for (Qcow2Image q : images) {
                if (has(q, tag)) {
                    q.deleteSnapshot(tag);
                }
            }
            Qcow2Image first = images.getFirst();
            var out = new VmStateOutputStream(first);
            MachineState.save(machine, out);
            out.flush();
            long size = out.size();
            for (Drive d : drives) {
                if (!d.readOnly()) {
                    d.device().flush();
                }
            }
            for (Qcow2Image q : images) {
                q.createSnapshot(tag, q == first ? size : 0, clockNs);
            }
            return tag;
        } catch (IOException | RuntimeException e) {
            throw new SnapshotException("Error while creating snapshot '" + tag + "': " + message(e), e);
        } finally {
            machine.leaveSaveState(before);
        }
    }

    /**
     * loadvm tag: reverts every snapshot drive and loads the machine state saved with it. The saved state is read
     * and checked whole first, so a damaged or mismatched one is refused with the machine and its drives as they
     * were; a load that still fails part-way leaves the guest paused, and {@code cont} refused, until a load
     * succeeds or a reset.
     */
    public void load(String tag) {
        machine.operations().operation(() -> loadNow(tag, true));
    }

    /** -loadvm at start-up: the machine has not run, and a failure ends jhv, so the stream is read once. */
    public void loadAtStart(String tag) {
        machine.operations().operation(() -> loadNow(tag, false));
    }

    private void loadNow(String tag, boolean checkFirst) {
        List<Qcow2Image> images = snapshotImages();
        Snapshot state;
        try {
            for (Qcow2Image q : images) {
                q.findSnapshot(tag);
            }
            state = images.getFirst().findSnapshot(tag);
        } catch (IOException e) {
            throw new SnapshotException("Snapshot '" + tag + "' does not exist in one or more devices", e);
        }
        if (state.vmStateSize() == 0) {
            throw new SnapshotException("Snapshot '" + tag + "' has no machine state (it is a disk-only snapshot)");
        }
        if (checkFirst) {
            try (InputStream in = new VmStateInputStream(images.getFirst(), tag, state.vmStateSize())) {
                MachineState.check(machine, in);
            } catch (IOException | RuntimeException e) {
                throw new SnapshotException("Error while loading snapshot '" + tag + "': " + message(e)
                        + " (nothing was loaded)", e);
            }
        }
        try {
            machine.withStateRestore(() -> {
                try (InputStream in = new VmStateInputStream(images.getFirst(), tag, state.vmStateSize())) {
                    MachineState.load(machine, in);
                    for (Qcow2Image q : images) {
                        q.applySnapshot(tag);
                    }
                } catch (IOException e) {
                    throw new SnapshotException("Error while loading snapshot '" + tag + "': " + message(e), e);
                }
            }, "loadvm '" + tag + "' failed part-way: the guest's state is incomplete; load a snapshot or reset "
                    + "the machine (system_reset)");
        } catch (SnapshotException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new SnapshotException("Error while loading snapshot '" + tag + "': " + message(e), e);
        }
    }

    /** delvm tag. */
    public void delete(String tag) {
        machine.operations().operation(() -> deleteNow(tag));
    }

    private void deleteNow(String tag) {
        List<Qcow2Image> images = snapshotImages();
        boolean any = false;
        try {
            for (Qcow2Image q : images) {
                if (has(q, tag)) {
                    q.deleteSnapshot(tag);
                    any = true;
                }
            }
        } catch (IOException e) {
            throw new SnapshotException("Error while deleting snapshot '" + tag + "': " + message(e), e);
        }
        if (!any) {
            throw new SnapshotException("Error while deleting snapshot on '" + drives.getFirst().id()
                    + "': Snapshot '" + tag + "' not found");
        }
    }

    /** The snapshots present on every snapshot drive, with the first drive's figures (info snapshots). */
    public List<Snapshot> list() {
        return machine.operations().access(this::listNow);
    }

    private List<Snapshot> listNow() {
        List<Qcow2Image> images = snapshotImages();
        List<Snapshot> out = new ArrayList<>();
        for (Snapshot s : images.getFirst().snapshots()) {
            boolean everywhere = images.stream().allMatch(q -> has(q, s.name()));
            if (everywhere) {
                out.add(s);
            }
        }
        return out;
    }

    private static boolean has(Qcow2Image q, String tag) {
        return q.snapshots().stream().anyMatch(s -> s.name().equals(tag));
    }

    /** The guest's clock (KVM clock, ns since boot): what QEMU records as VM CLOCK. */
    private long vmClockNs() {
        byte[] clock = machine.vm().getClock();
        return MemorySegment.ofArray(clock).get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
    }

    private static String message(Exception e) {
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }
}
