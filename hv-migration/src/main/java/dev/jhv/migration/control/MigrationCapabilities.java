package dev.jhv.migration.control;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * QEMU 7.2's migration capabilities by name, all shown, each off by default. Turning on one whose feature this
 * build lacks is refused with a message that says so, rather than accepted and ignored.
 */
public final class MigrationCapabilities {
    /** In QEMU 7.2's order. */
    public static final List<String> ALL = List.of("xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks",
            "compress", "events", "postcopy-ram", "x-colo", "release-ram", "block", "return-path",
            "pause-before-switchover", "multifd", "dirty-bitmaps", "postcopy-blocktime", "late-block-activate",
            "x-ignore-shared", "validate-uuid", "background-snapshot", "zero-copy-send", "postcopy-preempt");

    /**
     * What works today: events (QMP's MIGRATION events), return-path (socket migrations always wait for the
     * destination's acknowledgement), zero-blocks (zero runs are never sent as data), xbzrle (pages re-sent as
     * their changes, {@code dev.jhv.migration.xbzrle}), auto-converge ({@code dev.jhv.migration.converge}),
     * multifd (RAM over multifd-channels extra connections), postcopy-ram (with migrate_start_postcopy,
     * {@code dev.jhv.migration.postcopy}) and postcopy-blocktime (the destination always measures it).
     */
    static final Set<String> SUPPORTED = Set.of("events", "return-path", "zero-blocks", "xbzrle", "auto-converge",
            "multifd", "postcopy-ram", "postcopy-blocktime");

    public static final MigrationCapabilities NONE = new MigrationCapabilities(Set.of());

    private final Set<String> on;

    private MigrationCapabilities(Set<String> on) {
        this.on = Set.copyOf(on);
    }

    public boolean enabled(String name) {
        return on.contains(name);
    }

    /** @throws IllegalArgumentException for an unknown capability or one this build cannot turn on */
    public MigrationCapabilities with(String name, boolean enable) {
        if (!ALL.contains(name)) {
            throw new IllegalArgumentException("Invalid parameter '" + name + "'"); // QEMU's words for a bad name
        }
        if (enable && !SUPPORTED.contains(name)) {
            throw new IllegalArgumentException("Capability '" + name + "' is not supported by this build of jhv "
                    + "yet");
        }
        Set<String> s = new LinkedHashSet<>(on);
        if (enable) {
            s.add(name);
        } else {
            s.remove(name);
        }
        return new MigrationCapabilities(s);
    }

    /** "info migrate_capabilities" as QEMU 7.2 prints it. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        for (String c : ALL) {
            sb.append(c).append(": ").append(on.contains(c) ? "on" : "off").append('\n');
        }
        return sb.toString();
    }
}
