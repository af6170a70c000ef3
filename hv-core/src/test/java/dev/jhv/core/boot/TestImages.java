package dev.jhv.core.boot;

import dev.jhv.core.memory.GuestMemory;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** Synthetic kernels and guest memory for the loader tests. */
final class TestImages {
    private TestImages() { }

    static final int SETUP_SECTS = 3;
    static final int PAYLOAD = 16 * 1024;

    /** A minimal bzImage: real-mode setup of SETUP_SECTS+1 sectors with a v2.15 header, then a patterned payload. */
    static byte[] bzImage(boolean relocatable, long prefAddress, int initSize, int xloadflags, int cmdlineSize,
                          int initrdAddrMax) {
        int setup = (SETUP_SECTS + 1) * 512;
        byte[] img = new byte[setup + PAYLOAD];
        ByteBuffer b = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1F1, (byte) SETUP_SECTS);
        b.putShort(0x1FE, (short) 0xAA55);
        b.put(0x200, (byte) 0xEB);           // jmp short
        b.put(0x201, (byte) 0x6A);           // header ends at 0x202 + 0x6A = 0x26C
        b.putInt(0x202, 0x53726448);         // "HdrS"
        b.putShort(0x206, (short) 0x020F);
        b.put(0x211, (byte) 0x01);           // LOADED_HIGH as the kernel sets it
        b.putInt(0x214, 0x100000);           // code32_start
        b.putInt(0x22C, initrdAddrMax);
        b.putInt(0x230, 0x200000);           // kernel_alignment
        b.put(0x234, (byte) (relocatable ? 1 : 0));
        b.putShort(0x236, (short) xloadflags);
        b.putInt(0x238, cmdlineSize);
        b.putLong(0x258, prefAddress);
        b.putInt(0x260, initSize);
        b.putInt(0x268, 0x1234);             // kernel_info_offset: inside the header, must be copied
        for (int i = 0; i < PAYLOAD; i++) {
            img[setup + i] = (byte) (i * 7 + 3);
        }
        return img;
    }

    static byte[] defaultBzImage() {
        return bzImage(true, 0x1000000, 0x800000, 0x1, 2047, 0x7FFFFFFF);
    }

    /** An ELF (64- or 32-bit) with one PT_LOAD and a PT_NOTE holding a GNU note then the Xen PVH entry note. */
    static byte[] pvhElf(boolean is64, long paddr, int fileSize, int memSize, long entry, boolean withNote) {
        int ehsize = is64 ? 64 : 52;
        int phentsize = is64 ? 56 : 32;
        int phnum = 2;
        int notesOff = ehsize + phentsize * phnum;
        // GNU build-id-like note (namesz 4 "GNU", descsz 8) then Xen note (namesz 4, descsz 8 or 4).
        int xenDesc = is64 ? 8 : 4;
        int notesSize = (12 + 4 + 8) + (12 + 4 + xenDesc);
        int loadOff = 0x1000;
        byte[] img = new byte[loadOff + fileSize];
        ByteBuffer b = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
        img[0] = 0x7F;
        img[1] = 'E';
        img[2] = 'L';
        img[3] = 'F';
        img[4] = (byte) (is64 ? 2 : 1);
        img[5] = 1;
        img[6] = 1;
        b.putShort(16, (short) 2);
        b.putShort(18, (short) (is64 ? 62 : 3));
        if (is64) {
            b.putLong(24, 0xFFFFFFFF81000000L);
            b.putLong(32, ehsize);
            b.putShort(52, (short) ehsize);
            b.putShort(54, (short) phentsize);
            b.putShort(56, (short) phnum);
            int o = ehsize;
            b.putInt(o, 1);
            b.putLong(o + 8, loadOff);
            b.putLong(o + 16, 0xFFFFFFFF80000000L + paddr);
            b.putLong(o + 24, paddr);
            b.putLong(o + 32, fileSize);
            b.putLong(o + 40, memSize);
            b.putLong(o + 48, 0x200000);
            o += phentsize;
            b.putInt(o, withNote ? 4 : 6);
            b.putLong(o + 8, notesOff);
            b.putLong(o + 32, notesSize);
            b.putLong(o + 40, notesSize);
            b.putLong(o + 48, 4);
        } else {
            b.putInt(24, (int) entry);
            b.putInt(28, ehsize);
            b.putShort(40, (short) ehsize);
            b.putShort(42, (short) phentsize);
            b.putShort(44, (short) phnum);
            int o = ehsize;
            b.putInt(o, 1);
            b.putInt(o + 4, loadOff);
            b.putInt(o + 8, (int) paddr);
            b.putInt(o + 12, (int) paddr);
            b.putInt(o + 16, fileSize);
            b.putInt(o + 20, memSize);
            b.putInt(o + 28, 0x1000);
            o += phentsize;
            b.putInt(o, withNote ? 4 : 6);
            b.putInt(o + 4, notesOff);
            b.putInt(o + 16, notesSize);
            b.putInt(o + 20, notesSize);
            b.putInt(o + 28, 4);
        }
        int n = notesOff;
        b.putInt(n, 4);
        b.putInt(n + 4, 8);
        b.putInt(n + 8, 3);
        img[n + 12] = 'G';
        img[n + 13] = 'N';
        img[n + 14] = 'U';
        b.putLong(n + 16, 0x1122334455667788L);
        n += 24;
        b.putInt(n, 4);
        b.putInt(n + 4, xenDesc);
        b.putInt(n + 8, 18);
        img[n + 12] = 'X';
        img[n + 13] = 'e';
        img[n + 14] = 'n';
        if (is64) {
            b.putLong(n + 16, entry);
        } else {
            b.putInt(n + 16, (int) entry);
        }
        for (int i = 0; i < fileSize; i++) {
            img[loadOff + i] = (byte) (i * 13 + 1);
        }
        return img;
    }

    /** Guest memory for a map, from an arena (fine for the small sizes tests use). */
    static GuestMemory memory(Arena arena, MemoryMap map) {
        return new GuestMemory(map.ramRanges().stream()
                .map(r -> new GuestMemory.Region(r.gpa(), arena.allocate(r.size(), 4096)))
                .toList());
    }

    static List<Long> walkIdentity(GuestMemory mem, long cr3, long va) {
        long pml4e = mem.readLong(cr3 + ((va >>> 39) & 511) * 8);
        long pdpte = mem.readLong((pml4e & 0xFFFFFFFFFF000L) + ((va >>> 30) & 511) * 8);
        long pde = mem.readLong((pdpte & 0xFFFFFFFFFF000L) + ((va >>> 21) & 511) * 8);
        return List.of(pml4e, pdpte, pde);
    }
}
