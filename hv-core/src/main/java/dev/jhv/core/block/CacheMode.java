package dev.jhv.core.block;

import java.util.Locale;

/**
 * How a drive's writes reach the host (QEMU's -drive cache=): whether the host page cache is bypassed (O_DIRECT),
 * whether every write is made durable before it completes, and whether the guest's flushes are honoured.
 */
public enum CacheMode {
    /** The host page cache holds writes until the guest flushes (QEMU's default). */
    WRITEBACK(false, false, false),
    /** O_DIRECT: the host page cache is bypassed; flushes still reach the disk. */
    NONE(true, false, false),
    /** Every write is durable (O_DSYNC) before it completes. */
    WRITETHROUGH(false, true, false),
    /** O_DIRECT and O_DSYNC. */
    DIRECTSYNC(true, true, false),
    /** The guest's flushes do nothing: fast, and what was written is lost if the host crashes. */
    UNSAFE(false, false, true);

    private final boolean direct;
    private final boolean syncEachWrite;
    private final boolean ignoreFlush;

    CacheMode(boolean direct, boolean syncEachWrite, boolean ignoreFlush) {
        this.direct = direct;
        this.syncEachWrite = syncEachWrite;
        this.ignoreFlush = ignoreFlush;
    }

    public boolean direct() {
        return direct;
    }

    public boolean syncEachWrite() {
        return syncEachWrite;
    }

    public boolean ignoreFlush() {
        return ignoreFlush;
    }

    /** The name of {@code cache=} ("none", "writeback", ...). */
    public String qemuName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
