package dev.jhv.core.boot;

import dev.jhv.core.memory.GuestMemory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Placement rules both loaders share: command line and initrd. */
final class Placement {
    static final long PAGE = 4096;

    private Placement() { }

    /** Writes the NUL-terminated command line at {@link BootLayout#CMDLINE_ADDR}; {@code max} excludes the NUL. */
    static long writeCmdline(Path kernel, GuestMemory mem, String cmdline, long max) {
        byte[] bytes = (cmdline == null ? "" : cmdline).getBytes(StandardCharsets.UTF_8);
        long limit = Math.min(max, BootLayout.CMDLINE_AREA - 1);
        if (bytes.length > limit) {
            throw new BootException(String.format("%s: kernel command line is %d bytes, the kernel accepts at most %d",
                    kernel, bytes.length, limit));
        }
        mem.write(BootLayout.CMDLINE_ADDR, bytes);
        mem.writeByte(BootLayout.CMDLINE_ADDR + bytes.length, 0);
        return BootLayout.CMDLINE_ADDR;
    }

    /**
     * Puts the initrd as high as possible, page aligned, ending at or below {@code limitEnd} and starting at or
     * above {@code kernelEnd}. Returns its address.
     */
    static long placeInitrd(Path initrd, GuestMemory mem, byte[] data, long kernelEnd, long limitEnd) {
        long addr = (limitEnd - data.length) & -PAGE;
        long floor = (kernelEnd + PAGE - 1) & -PAGE;
        if (data.length == 0 || addr < floor || !mem.isRam(addr, data.length)) {
            throw new BootException(String.format(
                    "%s: initrd of %d KiB does not fit between the kernel (ends at 0x%x) and 0x%x; give the guest more memory",
                    initrd, (data.length + 1023) / 1024, kernelEnd, limitEnd));
        }
        mem.write(addr, data);
        return addr;
    }

    static String mib(long bytes) {
        return (bytes >> 20) + " MiB";
    }
}
