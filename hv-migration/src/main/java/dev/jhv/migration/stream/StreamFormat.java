package dev.jhv.migration.stream;

/**
 * The container format, shaped like QEMU's savevm stream (magic, version, configuration, sections with footers,
 * EOF, then the JSON description) with jhv's own magic and version.
 *
 * <pre>
 * be32 MAGIC "JHVM", be32 VERSION
 * u8 CONFIGURATION, be32 length, JSON configuration (see MachineConfiguration)
 * sections, each one of:
 *   u8 SECTION_START | SECTION_FULL, be32 section id, u8 idstr length, idstr, be32 instance id, be32 version,
 *      body, u8 SECTION_FOOTER, be32 section id, be32 CRC32C of the section from its type byte to its body's end
 *   u8 SECTION_PART | SECTION_END, be32 section id, body, u8 SECTION_FOOTER, be32 section id, be32 CRC32C
 * u8 EOF
 * u8 VMDESCRIPTION, be32 length, JSON description of every section
 * be32 length (again), be32 CRC32C of the JSON, be32 DESCRIPTION_TRAILER "JHVD"
 *   (lets a tool find the description from the file's end)
 * </pre>
 *
 * A FULL body is the device's VMState wire form (see VMStateSchema). An iterative (RAM) body is a sequence of page
 * records ended by an EOS record (see RamSectionWriter).
 */
public final class StreamFormat {
    private StreamFormat() {
    }

    /** "JHVM". */
    public static final int MAGIC = 0x4A48564D;
    public static final int VERSION = 1;
    /** "JHVD", the last four bytes of a complete stream. */
    public static final int DESCRIPTION_TRAILER = 0x4A485644;

    public static final int EOF = 0x00;
    public static final int SECTION_START = 0x01;
    public static final int SECTION_PART = 0x02;
    public static final int SECTION_END = 0x03;
    public static final int SECTION_FULL = 0x04;
    public static final int VMDESCRIPTION = 0x06;
    public static final int CONFIGURATION = 0x07;
    public static final int SECTION_FOOTER = 0x7e;
    /**
     * A command to the destination (QEMU's QEMU_VM_COMMAND): u8 SECTION_COMMAND, be32 command, its body. Postcopy's
     * listen command says which pages the destination lacks (see dev.jhv.migration.postcopy): after it the RAM
     * section has no END, its remaining pages follow the stream's trailer.
     */
    public static final int SECTION_COMMAND = 0x08;
    public static final int COMMAND_POSTCOPY_LISTEN = 1;

    /** Bounds on the JSON parts, so garbage cannot make the loader allocate much. */
    public static final int MAX_CONFIGURATION = 1 << 20;
    public static final int MAX_DESCRIPTION = 16 << 20;

    static String typeName(int type) {
        return switch (type) {
            case EOF -> "EOF";
            case SECTION_START -> "START";
            case SECTION_PART -> "PART";
            case SECTION_END -> "END";
            case SECTION_FULL -> "FULL";
            case VMDESCRIPTION -> "VMDESCRIPTION";
            case CONFIGURATION -> "CONFIGURATION";
            case SECTION_FOOTER -> "FOOTER";
            case SECTION_COMMAND -> "COMMAND";
            default -> String.format("0x%02x", type);
        };
    }
}
