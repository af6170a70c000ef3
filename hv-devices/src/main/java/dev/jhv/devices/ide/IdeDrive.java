package dev.jhv.devices.ide;

import dev.jhv.core.block.BlockDevice;

import java.util.Optional;

/**
 * A device at one position of an {@link IdeChannel}: an {@link AtaDisk} or an {@link AtapiCdrom}. It executes
 * commands on its position's {@link TaskFile}, under the channel's lock.
 */
public sealed abstract class IdeDrive permits AtaDisk, AtapiCdrom {
    private IdeChannel channel;
    private TaskFile taskFile;

    /** "hd" or "cd", as QEMU's drive names have it ({@code ide0-hd0}, {@code ide1-cd0}). */
    abstract String kind();

    abstract boolean packetDevice();

    /** The medium now (empty for a CD-ROM without one): what {@code info block} shows. */
    public abstract Optional<BlockDevice> blockDevice();

    /** A command written to the command register while this drive is selected. */
    abstract void execute(TaskFile tf, int command);

    /** The guest has moved the whole current DRQ block (PIO). */
    abstract void blockDone(TaskFile tf);

    /** The bus master is started and this drive's DMA command waits: move the data now. */
    abstract void runDma(TaskFile tf, DmaEngine dma);

    /** Power-on/hardware/software reset of the drive's own state (the channel has set the signature). */
    void reset(TaskFile tf) {
    }

    /** The channel's name for this drive, {@code ide<channel>-<kind><unit>}; unattached: "ide". */
    public String name() {
        IdeChannel c = channel;
        return c == null ? "ide-" + kind() : c.driveName(this);
    }

    final void attach(IdeChannel c, TaskFile tf) {
        if (channel != null) {
            throw new IllegalStateException(name() + " is already attached");
        }
        channel = c;
        taskFile = tf;
    }

    final IdeChannel channel() {
        return channel;
    }

    final TaskFile taskFile() {
        return taskFile;
    }

    /** The drive's interrupt request (INTRQ) for the end of a command or a DRQ block. */
    final void interrupt() {
        channel.raiseIrq();
    }

    /** Offers the DMA command to the bus master (it runs now if the start bit is already set). */
    final void requestDma() {
        channel.kickDma();
    }
}
