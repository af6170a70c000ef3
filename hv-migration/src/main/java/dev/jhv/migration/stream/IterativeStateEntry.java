package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateOutput;

import java.util.Map;

/**
 * State saved in pieces (RAM, later block devices): a START section from {@link #saveSetup}, PART sections from
 * {@link #saveIterate} while the guest may run, and an END section from {@link #saveComplete} with it stopped.
 * Every body must be self-delimiting (the stream has no section lengths).
 */
public non-sealed interface IterativeStateEntry extends SaveStateEntry {
    void saveSetup(VMStateOutput out);

    /**
     * Writes one bounded chunk.
     *
     * @return true when this pass has nothing more to send
     */
    boolean saveIterate(VMStateOutput out);

    void saveComplete(VMStateOutput out);

    /** Reads one section body written by the methods above; errors are MigrationException with offsets. */
    void load(VMStateInput in, SectionType type, int streamVersion);

    /** The JSON description of this entry's sections (at least {@code "type"}), for the analyzer. */
    Map<String, Object> describe();
}
