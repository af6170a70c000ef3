package dev.jhv.devices.fwcfg;

import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.devices.DeviceException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The items of a {@link FwCfg}, as the board sets them up: numeric items under their keys, named files, and
 * typed helpers for the files QEMU's PC gives SeaBIOS. The signature and the feature word are always there; the
 * UUID (zero), NOGRAPHIC and BOOT_MENU (0) default as in QEMU.
 *
 * <p>Files are listed in FILE_DIR sorted by name, byte-wise, and get the keys from 0x20 in that order, as
 * QEMU's files do; a name is at most 55 bytes.
 */
public final class FwCfgBuilder {
    /** Longest file name: 56 bytes with the NUL. */
    public static final int MAX_FILE_NAME = 55;
    static final int FILE_NAME_FIELD = 56;
    static final int DIR_ENTRY_SIZE = 4 + 2 + 2 + FILE_NAME_FIELD;
    /** Keys from here on are files, the write channel or architecture items. */
    private static final int FIRST_NON_NUMERIC = FwCfg.FILE_FIRST;

    private final Map<Integer, FwCfg.Item> items = new HashMap<>();
    private final TreeMap<byte[], FwCfg.Item> files = new TreeMap<>(Arrays::compareUnsigned);

    public FwCfgBuilder() {
        put(FwCfg.SIGNATURE, "QEMU".getBytes(StandardCharsets.US_ASCII));
        put(FwCfg.ID, le(FwCfg.ID_TRADITIONAL | FwCfg.ID_DMA, 4));
        put(FwCfg.UUID, new byte[16]);
        put(FwCfg.NOGRAPHIC, le(0, 2));
        put(FwCfg.BOOT_MENU, le(0, 2));
    }

    // ---- numeric items ----

    /**
     * The item under {@code key} (below 0x20, or an architecture key 0x8000–0xBFFF), replacing any before; the
     * signature, ID and the file directory are the device's own.
     */
    public FwCfgBuilder addBytes(int key, byte[] data) {
        boolean numeric = key > FwCfg.ID && key < FIRST_NON_NUMERIC && key != FwCfg.FILE_DIR;
        boolean arch = key >= FwCfg.ARCH_LOCAL && key < (FwCfg.ARCH_LOCAL | FIRST_NON_NUMERIC);
        if (!numeric && !arch) {
            throw new IllegalArgumentException(String.format("fw_cfg key 0x%x is not a numeric item's", key));
        }
        put(key, data.clone());
        return this;
    }

    public FwCfgBuilder addU16(int key, int value) {
        return addBytes(key, le(value, 2));
    }

    public FwCfgBuilder addU32(int key, long value) {
        return addBytes(key, le(value, 4));
    }

    public FwCfgBuilder addU64(int key, long value) {
        return addBytes(key, le(value, 8));
    }

    /** FW_CFG_UUID: the 16 bytes in the UUID's written order (most significant first). */
    public FwCfgBuilder uuid(UUID uuid) {
        var b = ByteBuffer.allocate(16).putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
        return addBytes(FwCfg.UUID, b.array());
    }

    /** FW_CFG_RAM_SIZE: guest RAM in bytes, le64. */
    public FwCfgBuilder ramSize(long bytes) {
        return addU64(FwCfg.RAM_SIZE, bytes);
    }

    /** FW_CFG_NOGRAPHIC (le16): -nographic. */
    public FwCfgBuilder noGraphic(boolean on) {
        return addU16(FwCfg.NOGRAPHIC, on ? 1 : 0);
    }

    /** FW_CFG_NB_CPUS and FW_CFG_MAX_CPUS (le16 each): vCPUs at boot and the most there can be. */
    public FwCfgBuilder cpus(int present, int max) {
        if (present < 1 || max < present || max > 0xFFFF) {
            throw new IllegalArgumentException(present + " of " + max + " vCPUs");
        }
        return addU16(FwCfg.NB_CPUS, present).addU16(FwCfg.MAX_CPUS, max);
    }

    /** FW_CFG_BOOT_MENU (le16): -boot menu=on. */
    public FwCfgBuilder bootMenu(boolean on) {
        return addU16(FwCfg.BOOT_MENU, on ? 1 : 0);
    }

    // ---- files ----

    /** A read-only file. */
    public FwCfgBuilder addFile(String name, byte[] data) {
        return file(name, data.clone(), false);
    }

    /** A file the guest may overwrite by DMA (within its size). */
    public FwCfgBuilder addWritableFile(String name, byte[] data) {
        return file(name, data.clone(), true);
    }

    /** Whether a file of this name was added. */
    public boolean hasFile(String name) {
        return files.containsKey(name.getBytes(StandardCharsets.UTF_8));
    }

    /** etc/e820: the entries as {le64 address; le64 length; le32 type}. */
    public FwCfgBuilder e820(List<MemoryMap.E820Entry> entries) {
        var b = ByteBuffer.allocate(20 * entries.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (var e : entries) {
            b.putLong(e.start()).putLong(e.size()).putInt(e.type().code);
        }
        return addFile("etc/e820", b.array());
    }

    /**
     * bootorder: OpenFirmware device paths ({@link BootDevicePath}), most preferred first, one a line and the
     * last NUL-terminated as QEMU writes them. None: no file, the firmware's own order.
     */
    public FwCfgBuilder bootOrder(List<String> paths) {
        if (paths.isEmpty()) {
            return this;
        }
        for (String p : paths) {
            if (p.isEmpty() || p.indexOf('\n') >= 0 || p.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("not a device path: \"" + p + "\"");
            }
        }
        return addFile("bootorder", (String.join("\n", paths) + "\0").getBytes(StandardCharsets.US_ASCII));
    }

    /** etc/boot-fail-wait (le32): milliseconds SeaBIOS waits before rebooting when no device booted. */
    public FwCfgBuilder bootFailWait(int millis) {
        return addFile("etc/boot-fail-wait", le(millis, 4));
    }

    /** etc/sercon-port (le16): the I/O port of the UART SeaBIOS mirrors its text console to (0: none). */
    public FwCfgBuilder serconPort(int port) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("I/O port " + port);
        }
        return addFile("etc/sercon-port", le(port, 2));
    }

    /** etc/show-boot-menu (le64, SeaBIOS reads it as an integer): 0 hides the boot menu prompt, 1 shows it. */
    public FwCfgBuilder showBootMenu(int value) {
        return addFile("etc/show-boot-menu", le(value, 8));
    }

    /** genroms/NAME: an option ROM the firmware runs; its boot path is {@link BootDevicePath#optionRom}. */
    public FwCfgBuilder optionRom(String name, byte[] rom) {
        if (name.isEmpty() || name.indexOf('/') >= 0) {
            throw new IllegalArgumentException("option ROM name \"" + name + "\"");
        }
        return addFile("genroms/" + name, rom);
    }

    /** A user's -fw_cfg item (its opt/ warning is the launcher's to print). */
    public FwCfgBuilder addUserItem(FwCfgUserItem item) {
        return addFile(item.name(), item.data());
    }

    // ---- build ----

    /** The device over {@code memory} (the RAM its DMA reads and writes). */
    public FwCfg build(GuestMemory memory) {
        var all = new HashMap<>(items);
        int key = FwCfg.FILE_FIRST;
        for (var f : files.values()) {
            all.put(key++, f);
        }
        all.put(FwCfg.FILE_DIR, new FwCfg.Item(fileDirectory(), false));
        return new FwCfg(memory, all);
    }

    /** FILE_DIR: be32 count, then per file be32 size, be16 key, be16 reserved, name[56] NUL-padded. */
    byte[] fileDirectory() {
        var b = ByteBuffer.allocate(4 + DIR_ENTRY_SIZE * files.size()).order(ByteOrder.BIG_ENDIAN);
        b.putInt(files.size());
        int key = FwCfg.FILE_FIRST;
        for (var f : files.entrySet()) {
            b.putInt(f.getValue().data().length).putShort((short) key++).putShort((short) 0);
            b.put(Arrays.copyOf(f.getKey(), FILE_NAME_FIELD));
        }
        return b.array();
    }

    private FwCfgBuilder file(String name, byte[] data, boolean writable) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length == 0 || n.length > MAX_FILE_NAME || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("fw_cfg file name \"" + name + "\": 1 to " + MAX_FILE_NAME
                    + " bytes");
        }
        if (files.containsKey(n)) {
            throw new DeviceException("duplicate fw_cfg file name: " + name);
        }
        if (FwCfg.FILE_FIRST + files.size() >= FwCfg.WRITE_CHANNEL) {
            throw new DeviceException("too many fw_cfg files");
        }
        files.put(n, new FwCfg.Item(data, writable));
        return this;
    }

    private void put(int key, byte[] data) {
        items.put(key, new FwCfg.Item(data, false));
    }

    static byte[] le(long v, int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        return b;
    }
}
