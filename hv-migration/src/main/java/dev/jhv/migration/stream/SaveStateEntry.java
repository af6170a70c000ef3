package dev.jhv.migration.stream;

/**
 * Something whose state goes into a stream, registered in a {@link SaveStateRegistry} (QEMU's SaveStateEntry):
 * a device described by a VMStateDescription, saved whole in one FULL section, or an iterative part (RAM) saved in
 * START/PART/END sections.
 */
public sealed interface SaveStateEntry permits DeviceStateEntry, IterativeStateEntry {
    /** The section name in the stream, e.g. "serial", "ram". */
    String idstr();

    /** Which of several same-named devices (0 for the first). */
    int instanceId();

    /** The version the entry writes. */
    int version();
}
