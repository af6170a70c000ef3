package dev.jhv.devices.fwcfg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * The BIOS linker/loader script, fw_cfg file {@value #FILE}: commands the firmware runs in order to copy fw_cfg
 * files into memory it allocates, patch pointers between them and recompute checksums. Each command is 128
 * bytes, little-endian: le32 command, then
 * <pre>
 *   1 ALLOCATE      file[56], le32 alignment, u8 zone (1 HIGH: anywhere below 4 GiB, 2 FSEG: 0xF0000–0xFFFFF)
 *   2 ADD_POINTER   dest file[56], src file[56], le32 offset, u8 size: the size-byte field at offset of dest
 *                   gets the address of src added
 *   3 ADD_CHECKSUM  file[56], le32 result offset, le32 start, le32 length: the byte at result offset gets the
 *                   negated byte sum of [start, start+length) added
 * </pre>
 * A file must be allocated before a command names it.
 */
public final class TableLoader {
    public static final String FILE = "etc/table-loader";
    static final int COMMAND_SIZE = 128;
    static final int ALLOCATE = 1;
    static final int ADD_POINTER = 2;
    static final int ADD_CHECKSUM = 3;

    /** Where ALLOCATE puts a file. */
    public enum Zone {
        HIGH(1), FSEG(2);

        final int code;

        Zone(int code) {
            this.code = code;
        }
    }

    private byte[] script = new byte[0];
    private final Set<String> allocated = new HashSet<>();

    /** ALLOCATE: {@code file} copied into {@code zone} at an {@code alignment} boundary (a power of two). */
    public TableLoader allocate(String file, int alignment, Zone zone) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment " + alignment);
        }
        if (!allocated.add(file)) {
            throw new IllegalArgumentException(file + " is allocated twice");
        }
        var c = command(ALLOCATE);
        name(c, file);
        c.putInt(alignment).put((byte) zone.code);
        return append(c);
    }

    /** ADD_POINTER: the {@code size}-byte field at {@code offset} of {@code dest} gets {@code src}'s address added. */
    public TableLoader addPointer(String dest, String src, int offset, int size) {
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new IllegalArgumentException("pointer size " + size);
        }
        requireAllocated(dest);
        requireAllocated(src);
        var c = command(ADD_POINTER);
        name(c, dest);
        name(c, src);
        c.putInt(offset).put((byte) size);
        return append(c);
    }

    /** ADD_CHECKSUM: the byte at {@code resultOffset} of {@code file} makes [start, start+length) sum to 0. */
    public TableLoader addChecksum(String file, int resultOffset, int start, int length) {
        requireAllocated(file);
        var c = command(ADD_CHECKSUM);
        name(c, file);
        c.putInt(resultOffset).putInt(start).putInt(length);
        return append(c);
    }

    /** The script: the file's contents. */
    public byte[] toBytes() {
        return script.clone();
    }

    private void requireAllocated(String file) {
        if (!allocated.contains(file)) {
            throw new IllegalArgumentException(file + " is not allocated before it is used");
        }
    }

    private static ByteBuffer command(int type) {
        return ByteBuffer.allocate(COMMAND_SIZE).order(ByteOrder.LITTLE_ENDIAN).putInt(type);
    }

    private static void name(ByteBuffer c, String file) {
        byte[] n = file.getBytes(StandardCharsets.UTF_8);
        if (n.length == 0 || n.length > FwCfgBuilder.MAX_FILE_NAME) {
            throw new IllegalArgumentException("fw_cfg file name \"" + file + "\"");
        }
        c.put(Arrays.copyOf(n, FwCfgBuilder.FILE_NAME_FIELD));
    }

    private TableLoader append(ByteBuffer c) {
        int at = script.length;
        script = Arrays.copyOf(script, at + COMMAND_SIZE);
        System.arraycopy(c.array(), 0, script, at, COMMAND_SIZE);
        return this;
    }
}
