package dev.jhv.migration.stream;

/** The kinds of section an iterative entry receives. */
public enum SectionType {
    /** The first section of an iterative entry (carries idstr, instance, version). */
    START,
    /** One more chunk while the machine may still run. */
    PART,
    /** The last chunk, written with the machine stopped. */
    END
}
