package dev.jhv.core.boot;

import dev.jhv.core.memory.GuestMemory;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Boots a kernel given with {@code -kernel}: a bzImage through the 64-bit Linux boot protocol, or an ELF
 * vmlinux through its PVH entry note; the format is recognised by content, not by name.
 */
public final class KernelLoader {
    /** Largest kernel or initrd read into memory: it must fit the heap (512 MiB, scripts/jvm-memory-options). */
    static final long MAX_FILE = 256L << 20;

    private KernelLoader() { }

    /**
     * Loads the kernel, the optional initrd and the command line into guest memory, builds the boot parameters
     * (zero page or hvm_start_info, with the e820 map and the RSDP address) and returns the boot vCPU's entry state.
     *
     * @param rsdpAddr where the ACPI RSDP is (from {@code AcpiTables.build}), 0 for none
     * @throws BootException with a one-line message naming the file if anything is missing or malformed
     */
    public static BootSetup load(Path kernel, Path initrdOrNull, String cmdline, GuestMemory mem, MemoryMap map,
                                 long rsdpAddr) {
        byte[] image = readFile(kernel, "kernel");
        byte[] initrd = initrdOrNull == null ? null : readFile(initrdOrNull, "initrd");
        if (initrd != null && initrd.length == 0) {
            throw new BootException("initrd file '" + initrdOrNull + "' is empty");
        }
        if (PvhLoader.looksLikeElf(image)) {
            return PvhLoader.load(kernel, image, initrdOrNull, initrd, cmdline, mem, map, rsdpAddr);
        }
        if (BzImageLoader.looksLikeBzImage(image)) {
            return BzImageLoader.load(kernel, image, initrdOrNull, initrd, cmdline, mem, map, rsdpAddr);
        }
        throw new BootException(kernel + ": not a kernel jhv can boot (neither a bzImage nor an ELF vmlinux)");
    }

    /** Reads a whole file; the message says which file and why, QEMU style. */
    static byte[] readFile(Path path, String what) {
        try {
            if (Files.isDirectory(path)) {
                throw new BootException("could not open " + what + " file '" + path + "': Is a directory");
            }
            long size = Files.size(path);
            if (size > MAX_FILE) {
                throw new BootException(what + " file '" + path + "' is too large (" + (size >> 20)
                        + " MiB; at most " + (MAX_FILE >> 20) + " MiB)");
            }
            // a device or a pipe (/dev/zero) has no size and may never end
            if (!Files.isRegularFile(path)) {
                throw new BootException("could not load " + what + " file '" + path + "': not a regular file");
            }
            try (var in = Files.newInputStream(path)) {
                byte[] data = in.readNBytes((int) size + 1); // bounded even if the file grows meanwhile
                if (data.length > size) {
                    throw new BootException("could not load " + what + " file '" + path
                            + "': it grew while it was read");
                }
                return data;
            }
        } catch (NoSuchFileException e) {
            throw new BootException("could not open " + what + " file '" + path + "': No such file or directory", e);
        } catch (AccessDeniedException e) {
            throw new BootException("could not open " + what + " file '" + path + "': Permission denied", e);
        } catch (IOException | OutOfMemoryError e) {
            throw new BootException("could not read " + what + " file '" + path + "': " + e.getMessage(), e);
        }
    }
}
