package dev.jhv.core.boot;

import dev.jhv.core.memory.GuestMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

/**
 * Loads a bzImage by the Linux x86 boot protocol (Documentation/arch/x86/boot.rst) and enters it through its
 * 64-bit entry point (startup_64 at load address + 0x200), the way Firecracker and Cloud Hypervisor do: the
 * real-mode setup code is not run, so jhv fills boot_params itself.
 */
final class BzImageLoader {
    // Setup header fields, at their offsets in both the image and boot_params.
    static final int SETUP_SECTS = 0x1F1;
    static final int BOOT_FLAG = 0x1FE;
    static final int JUMP = 0x200;
    static final int HEADER = 0x202;
    static final int VERSION = 0x206;
    static final int TYPE_OF_LOADER = 0x210;
    static final int LOADFLAGS = 0x211;
    static final int RAMDISK_IMAGE = 0x218;
    static final int RAMDISK_SIZE = 0x21C;
    static final int HEAP_END_PTR = 0x224;
    static final int CMD_LINE_PTR = 0x228;
    static final int INITRD_ADDR_MAX = 0x22C;
    static final int KERNEL_ALIGNMENT = 0x230;
    static final int RELOCATABLE_KERNEL = 0x234;
    static final int XLOADFLAGS = 0x236;
    static final int CMDLINE_SIZE = 0x238;
    static final int PREF_ADDRESS = 0x258;
    static final int INIT_SIZE = 0x260;

    // boot_params fields outside the setup header (Documentation/arch/x86/zero-page.rst).
    static final int ACPI_RSDP_ADDR = 0x070;
    static final int EXT_RAMDISK_IMAGE = 0x0C0;
    static final int EXT_RAMDISK_SIZE = 0x0C4;
    static final int EXT_CMD_LINE_PTR = 0x0C8;
    static final int E820_ENTRIES = 0x1E8;
    static final int E820_TABLE = 0x2D0;
    static final int E820_MAX = 128;
    static final int BOOT_PARAMS_SIZE = 4096;
    /** The setup header never extends past here (edd_mbr_sig_buffer follows at 0x290). */
    static final int SETUP_HEADER_LIMIT = 0x290;

    static final int HDRS = 0x5372_6448; // "HdrS"
    static final int LOADED_HIGH = 0x01;
    static final int CAN_USE_HEAP = 0x80;
    static final int XLF_KERNEL_64 = 0x01;
    static final int LOADER_UNDEFINED = 0xFF;
    static final int STARTUP_64_OFFSET = 0x200;

    private BzImageLoader() { }

    /** Whether the image carries the boot protocol's setup header. */
    static boolean looksLikeBzImage(byte[] image) {
        return image.length >= HEADER + 4 && le(image).getInt(HEADER) == HDRS;
    }

    static BootSetup load(Path kernel, byte[] image, Path initrdPath, byte[] initrd, String cmdline,
                          GuestMemory mem, MemoryMap map, long rsdpAddr) {
        ByteBuffer img = le(image);
        if (image.length < 0x300 || img.getInt(HEADER) != HDRS) {
            throw new BootException(kernel + ": not a bzImage (no \"HdrS\" boot header)");
        }
        if (Short.toUnsignedInt(img.getShort(BOOT_FLAG)) != 0xAA55) {
            throw new BootException(kernel + ": not a bzImage (boot flag is not 0xAA55)");
        }
        int version = Short.toUnsignedInt(img.getShort(VERSION));
        if (version < 0x206) {
            throw new BootException(String.format("%s: boot protocol %d.%02d is too old (jhv needs 2.06 or later)",
                    kernel, version >> 8, version & 0xFF));
        }
        int xloadflags = version >= 0x20C ? Short.toUnsignedInt(img.getShort(XLOADFLAGS)) : 0;
        if ((xloadflags & XLF_KERNEL_64) == 0) {
            throw new BootException(kernel + ": kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");
        }
        int setupSects = Byte.toUnsignedInt(image[SETUP_SECTS]);
        if (setupSects == 0) {
            setupSects = 4;
        }
        int setupSize = (setupSects + 1) * 512;
        if (setupSize >= image.length) {
            throw new BootException(kernel + ": truncated bzImage (setup code of " + setupSize
                    + " bytes, file of " + image.length + ")");
        }
        int kernelSize = image.length - setupSize;

        // Where the protected-mode kernel goes and how much memory it needs from there on.
        long pref = img.getLong(PREF_ADDRESS);
        long initSize = Integer.toUnsignedLong(img.getInt(INIT_SIZE));
        long alignment = Integer.toUnsignedLong(img.getInt(KERNEL_ALIGNMENT));
        boolean relocatable = image[RELOCATABLE_KERNEL] != 0;
        long need = Math.max(initSize, kernelSize);
        long load = BootLayout.KERNEL_ADDR;
        if (relocatable && pref > BootLayout.KERNEL_ADDR && pref + need <= map.lowMemoryEnd()
                && (alignment == 0 || pref % alignment == 0) && pref % Placement.PAGE == 0) {
            load = pref; // where the decompressor would move itself anyway: saves it a copy
        }
        // The decompressor runs from max(load, its link address) for init_size bytes.
        long kernelEnd = Math.max(load + kernelSize, Math.max(load, pref) + initSize);
        if (kernelEnd > map.lowMemoryEnd() || !mem.isRam(load, kernelSize)) {
            throw new BootException(String.format("%s: kernel needs RAM up to %s, the guest has %s below 4 GiB",
                    kernel, Placement.mib(kernelEnd + MemoryMap.MIB - 1), Placement.mib(map.lowMemoryEnd())));
        }
        mem.write(load, image, setupSize, kernelSize);

        // boot_params: zeroed, with the image's setup header copied in, then the loader's fields.
        long zp = BootLayout.ZERO_PAGE_ADDR;
        mem.fill(zp, BOOT_PARAMS_SIZE, (byte) 0);
        int headerEnd = Math.min(Math.min(HEADER + Byte.toUnsignedInt(image[JUMP + 1]), SETUP_HEADER_LIMIT),
                image.length);
        mem.write(zp + SETUP_SECTS, image, SETUP_SECTS, headerEnd - SETUP_SECTS);

        mem.writeByte(zp + TYPE_OF_LOADER, LOADER_UNDEFINED);
        mem.writeByte(zp + LOADFLAGS, Byte.toUnsignedInt(image[LOADFLAGS]) | LOADED_HIGH | CAN_USE_HEAP);
        mem.writeShort(zp + HEAP_END_PTR, 0xFE00 - 0x200);

        long cmdlineMax = Integer.toUnsignedLong(img.getInt(CMDLINE_SIZE));
        long cmdAddr = Placement.writeCmdline(kernel, mem, cmdline, cmdlineMax);
        mem.writeInt(zp + CMD_LINE_PTR, (int) cmdAddr);
        mem.writeInt(zp + EXT_CMD_LINE_PTR, (int) (cmdAddr >>> 32));

        long initrdAddr = 0;
        if (initrd != null) {
            long addrMax = Integer.toUnsignedLong(img.getInt(INITRD_ADDR_MAX));
            long limitEnd = Math.min(addrMax + 1, map.lowMemoryEnd());
            initrdAddr = Placement.placeInitrd(initrdPath, mem, initrd, kernelEnd, limitEnd);
            mem.writeInt(zp + RAMDISK_IMAGE, (int) initrdAddr);
            mem.writeInt(zp + RAMDISK_SIZE, initrd.length);
            mem.writeInt(zp + EXT_RAMDISK_IMAGE, (int) (initrdAddr >>> 32));
            mem.writeInt(zp + EXT_RAMDISK_SIZE, 0);
        }

        List<MemoryMap.E820Entry> e820 = map.e820();
        if (e820.size() > E820_MAX) {
            throw new IllegalStateException("e820 table too long");
        }
        mem.writeByte(zp + E820_ENTRIES, e820.size());
        for (int i = 0; i < e820.size(); i++) {
            var e = e820.get(i);
            long at = zp + E820_TABLE + 20L * i;
            mem.writeLong(at, e.start());
            mem.writeLong(at + 8, e.size());
            mem.writeInt(at + 16, e.type().code);
        }
        mem.writeLong(zp + ACPI_RSDP_ADDR, rsdpAddr);

        EntryState entry = X86Setup.longMode(mem, load + STARTUP_64_OFFSET, zp);
        return new BootSetup(BootSetup.Kind.BZIMAGE, entry, load, kernelEnd, initrdAddr,
                initrd == null ? 0 : initrd.length, cmdAddr);
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }
}
