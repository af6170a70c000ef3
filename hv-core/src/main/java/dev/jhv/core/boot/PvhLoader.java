package dev.jhv.core.boot;

import dev.jhv.core.memory.GuestMemory;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads an ELF kernel (an uncompressed vmlinux) through the PVH boot ABI, as QEMU does for such a kernel: the
 * ELF carries a Xen note XEN_ELFNOTE_PHYS32_ENTRY giving a 32-bit entry point, which is entered in protected mode
 * with paging off and EBX pointing to an hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h).
 */
final class PvhLoader {
    static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;
    static final int START_INFO_MAGIC = 0x336E_C578;
    static final int START_INFO_VERSION = 1;
    static final int START_INFO_SIZE = 56;
    static final int MODLIST_ENTRY_SIZE = 32;
    static final int MEMMAP_ENTRY_SIZE = 24;
    static final int PT_LOAD = 1;
    static final int PT_NOTE = 4;
    static final int EM_386 = 3;
    static final int EM_X86_64 = 62;
    /** Largest command line we pass (Linux x86's COMMAND_LINE_SIZE is 2048; be generous). */
    static final int CMDLINE_MAX = 4095;

    private PvhLoader() { }

    record ProgramHeader(int type, long offset, long paddr, long filesz, long memsz, long align) { }

    static boolean looksLikeElf(byte[] image) {
        return image.length >= 4 && image[0] == 0x7F && image[1] == 'E' && image[2] == 'L' && image[3] == 'F';
    }

    static BootSetup load(Path kernel, byte[] image, Path initrdPath, byte[] initrd, String cmdline,
                          GuestMemory mem, MemoryMap map, long rsdpAddr) {
        List<ProgramHeader> phdrs = programHeaders(kernel, image);
        long entry = findPvhEntry(kernel, image, phdrs);

        long kernelStart = Long.MAX_VALUE;
        long kernelEnd = 0;
        for (ProgramHeader ph : phdrs) {
            if (ph.type() != PT_LOAD || ph.memsz() == 0) {
                continue;
            }
            if (ph.filesz() > ph.memsz() || ph.offset() < 0 || ph.filesz() < 0
                    || ph.offset() > image.length - ph.filesz()) {
                throw new BootException(kernel + ": ELF segment lies outside the file");
            }
            if (ph.paddr() < BootLayout.KERNEL_ADDR || ph.memsz() > map.lowMemoryEnd()
                    || ph.paddr() > map.lowMemoryEnd() - ph.memsz()) {
                throw new BootException(String.format(
                        "%s: ELF segment at 0x%x (%d KiB) does not fit in guest RAM between 1 MiB and %s",
                        kernel, ph.paddr(), ph.memsz() >> 10, Placement.mib(map.lowMemoryEnd())));
            }
            mem.write(ph.paddr(), image, (int) ph.offset(), (int) ph.filesz());
            mem.fill(ph.paddr() + ph.filesz(), ph.memsz() - ph.filesz(), (byte) 0);
            kernelStart = Math.min(kernelStart, ph.paddr());
            kernelEnd = Math.max(kernelEnd, ph.paddr() + ph.memsz());
        }
        if (kernelEnd == 0) {
            throw new BootException(kernel + ": ELF kernel has no loadable segments");
        }

        long cmdAddr = Placement.writeCmdline(kernel, mem, cmdline, CMDLINE_MAX);

        // hvm_start_info, then the module list (the initrd) and the memory map.
        long si = BootLayout.PVH_START_INFO_ADDR;
        mem.fill(si, PVH_AREA_SIZE, (byte) 0);
        long initrdAddr = 0;
        if (initrd != null) {
            initrdAddr = Placement.placeInitrd(initrdPath, mem, initrd, kernelEnd, map.lowMemoryEnd());
            long m = BootLayout.PVH_MODLIST_ADDR;
            mem.writeLong(m, initrdAddr);
            mem.writeLong(m + 8, initrd.length);
            mem.writeLong(m + 16, 0); // no module command line
        }
        List<MemoryMap.E820Entry> e820 = map.e820();
        for (int i = 0; i < e820.size(); i++) {
            var e = e820.get(i);
            long at = BootLayout.PVH_MEMMAP_ADDR + (long) MEMMAP_ENTRY_SIZE * i;
            mem.writeLong(at, e.start());
            mem.writeLong(at + 8, e.size());
            mem.writeInt(at + 16, e.type().code);
            mem.writeInt(at + 20, 0);
        }
        mem.writeInt(si, START_INFO_MAGIC);
        mem.writeInt(si + 4, START_INFO_VERSION);
        mem.writeInt(si + 8, 0);                         // flags
        mem.writeInt(si + 12, initrd == null ? 0 : 1);   // nr_modules
        mem.writeLong(si + 16, initrd == null ? 0 : BootLayout.PVH_MODLIST_ADDR);
        mem.writeLong(si + 24, cmdAddr);
        mem.writeLong(si + 32, rsdpAddr);
        mem.writeLong(si + 40, BootLayout.PVH_MEMMAP_ADDR);
        mem.writeInt(si + 48, e820.size());

        EntryState state = X86Setup.protectedMode(mem, entry, si);
        return new BootSetup(BootSetup.Kind.PVH, state, kernelStart, kernelEnd, initrdAddr,
                initrd == null ? 0 : initrd.length, cmdAddr);
    }

    /** start_info, module list and memory map together: up to the zero page's slot. */
    static final int PVH_AREA_SIZE = (int) (BootLayout.ZERO_PAGE_ADDR - BootLayout.PVH_START_INFO_ADDR);

    static List<ProgramHeader> programHeaders(Path kernel, byte[] image) {
        if (image.length < 52 || !looksLikeElf(image)) {
            throw new BootException(kernel + ": not an ELF file");
        }
        int cls = image[4];
        if (image[5] != 1) {
            throw new BootException(kernel + ": ELF file is not little-endian");
        }
        ByteBuffer b = BzImageLoader.le(image);
        int machine = Short.toUnsignedInt(b.getShort(18));
        if (machine != EM_386 && machine != EM_X86_64) {
            throw new BootException(kernel + ": ELF file is not for x86 (e_machine " + machine + ")");
        }
        long phoff;
        int phentsize;
        int phnum;
        boolean is64;
        if (cls == 2) {
            if (image.length < 64) {
                throw new BootException(kernel + ": truncated ELF header");
            }
            is64 = true;
            phoff = b.getLong(32);
            phentsize = Short.toUnsignedInt(b.getShort(54));
            phnum = Short.toUnsignedInt(b.getShort(56));
        } else if (cls == 1) {
            is64 = false;
            phoff = Integer.toUnsignedLong(b.getInt(28));
            phentsize = Short.toUnsignedInt(b.getShort(42));
            phnum = Short.toUnsignedInt(b.getShort(44));
        } else {
            throw new BootException(kernel + ": unknown ELF class " + cls);
        }
        int minEnt = is64 ? 56 : 32;
        if (phentsize < minEnt || phoff < 0 || phoff > image.length
                || (long) phentsize * phnum > image.length - phoff) {
            throw new BootException(kernel + ": ELF program headers lie outside the file");
        }
        var out = new ArrayList<ProgramHeader>();
        for (int i = 0; i < phnum; i++) {
            int o = (int) (phoff + (long) i * phentsize);
            if (is64) {
                out.add(new ProgramHeader(b.getInt(o), b.getLong(o + 8), b.getLong(o + 24), b.getLong(o + 32),
                        b.getLong(o + 40), b.getLong(o + 48)));
            } else {
                out.add(new ProgramHeader(b.getInt(o), u32(b, o + 4), u32(b, o + 12), u32(b, o + 16),
                        u32(b, o + 20), u32(b, o + 28)));
            }
        }
        return out;
    }

    /** Walks every PT_NOTE for the Xen PHYS32_ENTRY note; its descriptor is a 32- or 64-bit address. */
    static long findPvhEntry(Path kernel, byte[] image, List<ProgramHeader> phdrs) {
        ByteBuffer b = BzImageLoader.le(image);
        for (ProgramHeader ph : phdrs) {
            if (ph.type() != PT_NOTE || ph.offset() < 0 || ph.filesz() < 0
                    || ph.offset() > image.length - ph.filesz()) {
                continue;
            }
            int align = ph.align() == 8 ? 8 : 4;
            long pos = ph.offset();
            long end = ph.offset() + ph.filesz();
            while (end - pos >= 12) {
                long namesz = u32(b, (int) pos);
                long descsz = u32(b, (int) pos + 4);
                int type = b.getInt((int) pos + 8);
                long name = pos + 12;
                long desc = name + roundUp(namesz, align);
                long next = desc + roundUp(descsz, align);
                if (next > end || next <= pos) {
                    break;
                }
                if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && image[(int) name] == 'X'
                        && image[(int) name + 1] == 'e' && image[(int) name + 2] == 'n' && image[(int) name + 3] == 0) {
                    long entry = switch ((int) descsz) {
                        case 4 -> u32(b, (int) desc);
                        case 8 -> b.getLong((int) desc);
                        default -> throw new BootException(kernel + ": malformed PVH entry note");
                    };
                    if (entry <= 0 || entry >= MemoryMap.FOUR_GIB) {
                        throw new BootException(String.format("%s: PVH entry point 0x%x is not a 32-bit address",
                                kernel, entry));
                    }
                    return entry;
                }
                pos = next;
            }
        }
        throw new BootException(kernel + ": ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY);"
                + " give a bzImage or a vmlinux built with CONFIG_PVH");
    }

    private static long roundUp(long v, int a) {
        return (v + a - 1) & -a;
    }

    private static long u32(ByteBuffer b, int off) {
        return Integer.toUnsignedLong(b.getInt(off));
    }
}
