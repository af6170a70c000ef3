package dev.jhv.core.boot;

import dev.jhv.core.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.jhv.core.boot.MemoryMap.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KernelLoaderTest {
    static final long RSDP = 0xE0000;

    @TempDir
    Path dir;
    Arena arena;
    MemoryMap map;
    GuestMemory mem;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        map = new MemoryMap(64 * MIB);
        mem = TestImages.memory(arena, map);
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    Path file(String name, byte[] data) throws IOException {
        return Files.write(dir.resolve(name), data);
    }

    byte[] initrdBytes(int size) {
        byte[] d = new byte[size];
        for (int i = 0; i < size; i++) {
            d[i] = (byte) (i ^ (i >>> 8));
        }
        return d;
    }

    String cstring(long addr) {
        var sb = new StringBuilder();
        for (int c; (c = mem.readByte(addr)) != 0; addr++) {
            sb.append((char) c);
        }
        return sb.toString();
    }

    @Test
    void bzImageZeroPageAndLongModeEntry() throws IOException {
        byte[] img = TestImages.defaultBzImage();
        byte[] initrd = initrdBytes(300_000);
        BootSetup s = KernelLoader.load(file("bzImage", img), file("initrd", initrd), "console=ttyS0 quiet",
                mem, map, RSDP);

        assertThat(s.kind()).isEqualTo(BootSetup.Kind.BZIMAGE);
        // Relocatable with a suitable pref_address: loaded there, payload copied byte for byte.
        assertThat(s.kernelStart()).isEqualTo(0x1000000);
        int setup = (TestImages.SETUP_SECTS + 1) * 512;
        assertThat(mem.read(0x1000000, TestImages.PAYLOAD))
                .isEqualTo(java.util.Arrays.copyOfRange(img, setup, img.length));
        assertThat(s.kernelEnd()).isEqualTo(0x1000000 + 0x800000);

        long zp = BootLayout.ZERO_PAGE_ADDR;
        // The setup header is copied up to its end (0x202 + jump byte), then the loader's fields.
        assertThat(mem.readShort(zp + 0x1FE)).isEqualTo(0xAA55);
        assertThat(mem.readInt(zp + 0x202)).isEqualTo(0x53726448);
        assertThat(mem.readShort(zp + 0x206)).isEqualTo(0x020F);
        assertThat(mem.readInt(zp + 0x268)).isEqualTo(0x1234);
        assertThat(mem.readByte(zp + 0x210)).isEqualTo(0xFF);
        assertThat(mem.readByte(zp + 0x211) & 0x81).isEqualTo(0x81);
        assertThat(mem.readShort(zp + 0x224)).isNotZero();
        assertThat(mem.readInt(zp + 0x228)).isEqualTo((int) BootLayout.CMDLINE_ADDR);
        assertThat(mem.readInt(zp + 0xC8)).isZero();
        assertThat(cstring(BootLayout.CMDLINE_ADDR)).isEqualTo("console=ttyS0 quiet");
        assertThat(mem.readLong(zp + 0x70)).isEqualTo(RSDP);

        // initrd: page aligned, above the kernel's init_size footprint, as high as low RAM allows, intact.
        long rd = Integer.toUnsignedLong(mem.readInt(zp + 0x218));
        assertThat(rd).isEqualTo(s.initrdStart());
        assertThat(rd % 4096).isZero();
        assertThat(rd).isGreaterThanOrEqualTo(s.kernelEnd());
        assertThat(rd + initrd.length).isLessThanOrEqualTo(64 * MIB).isGreaterThan(64 * MIB - 4096);
        assertThat(mem.readInt(zp + 0x21C)).isEqualTo(initrd.length);
        assertThat(mem.read(rd, initrd.length)).isEqualTo(initrd);

        // e820 as the memory map says.
        var e820 = map.e820();
        assertThat(mem.readByte(zp + 0x1E8)).isEqualTo(e820.size());
        for (int i = 0; i < e820.size(); i++) {
            long at = zp + 0x2D0 + 20L * i;
            assertThat(mem.readLong(at)).isEqualTo(e820.get(i).start());
            assertThat(mem.readLong(at + 8)).isEqualTo(e820.get(i).size());
            assertThat(mem.readInt(at + 16)).isEqualTo(e820.get(i).type().code);
        }

        EntryState e = s.entry();
        assertThat(e.mode()).isEqualTo(EntryState.Mode.LONG64);
        assertThat(e.rip()).isEqualTo(0x1000200);
        assertThat(e.rsi()).isEqualTo(zp);
        assertThat(e.cr0() & (EntryState.CR0_PE | EntryState.CR0_PG)).isEqualTo(EntryState.CR0_PE | EntryState.CR0_PG);
        assertThat(e.cr4() & EntryState.CR4_PAE).isNotZero();
        assertThat(e.efer()).isEqualTo(EntryState.EFER_LME | EntryState.EFER_LMA);
        assertThat(e.rflags() & 0x200).as("interrupts off").isZero();
        assertThat(e.cs().selector()).isEqualTo(0x10);
        assertThat(e.cs().l()).isTrue();
        assertThat(e.cs().db()).isFalse();
        assertThat(e.cs().type() & 8).as("code").isNotZero();
        assertThat(e.ds().selector()).isEqualTo(0x18);
        assertThat(e.ds().type()).isEqualTo(3);
        assertThat(e.ss()).isEqualTo(e.ds());
        assertThat(e.tr().type()).isEqualTo(11);
        assertThat(e.tr().s()).isFalse();

        // The GDT in memory holds what the segment registers say.
        assertThat(mem.readLong(e.gdtBase() + 0x10)).isEqualTo(0x00AF9B000000FFFFL);
        assertThat(mem.readLong(e.gdtBase() + 0x18)).isEqualTo(0x00CF93000000FFFFL);
        assertThat(e.gdtLimit()).isGreaterThanOrEqualTo(0x27);

        // Identity map of the low 4 GiB with 2 MiB pages.
        for (long va : new long[] {0, 0x1000200, 0x7FE00000L, 0xC0000000L, 0xFEE00000L, 0xFFFFFFFFL}) {
            var walk = TestImages.walkIdentity(mem, e.cr3(), va);
            assertThat(walk.get(0) & 1).isOne();
            assertThat(walk.get(1) & 1).isOne();
            long pde = walk.get(2);
            assertThat(pde & 0x83).as("present, writable, 2 MiB").isEqualTo(0x83);
            assertThat((pde & 0xFFFFFFFE00000L) | (va & 0x1FFFFF)).isEqualTo(va);
        }
        // Nothing the loader wrote overlaps: structures below the EBDA, kernel above 1 MiB.
        assertThat(BootLayout.PD_ADDR + 4 * 0x1000).isLessThanOrEqualTo(BootLayout.CMDLINE_ADDR);
    }

    @Test
    void nonRelocatableKernelGoesToOneMib() throws IOException {
        byte[] img = TestImages.bzImage(false, 0x1000000, 0x400000, 1, 255, 0x7FFFFFFF);
        BootSetup s = KernelLoader.load(file("k", img), null, "", mem, map, 0);
        assertThat(s.kernelStart()).isEqualTo(0x100000);
        assertThat(s.entry().rip()).isEqualTo(0x100200);
        // The decompressor still uses [pref, pref + init_size).
        assertThat(s.kernelEnd()).isEqualTo(0x1400000);
        assertThat(mem.readInt(BootLayout.ZERO_PAGE_ADDR + 0x218)).isZero();
        assertThat(mem.readInt(BootLayout.ZERO_PAGE_ADDR + 0x21C)).isZero();
    }

    @Test
    void initrdStaysBelowInitrdAddrMax() throws IOException {
        byte[] img = TestImages.bzImage(true, 0x1000000, 0x400000, 1, 255, 0x02FFFFFF);
        BootSetup s = KernelLoader.load(file("k", img), file("rd", initrdBytes(10000)), "", mem, map, 0);
        assertThat(s.initrdStart() + 10000).isLessThanOrEqualTo(0x3000000).isGreaterThan(0x3000000 - 4096);
    }

    @Test
    void initrdTooLargeForRamIsRefused() throws IOException {
        Path rd = file("big.img", new byte[60 * 1024 * 1024]);
        assertThatThrownBy(() -> KernelLoader.load(file("k", TestImages.defaultBzImage()), rd, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("big.img").hasMessageContaining("does not fit");
    }

    @Test
    void commandLineLongerThanCmdlineSizeIsRefused() throws IOException {
        byte[] img = TestImages.bzImage(true, 0x1000000, 0x400000, 1, 16, 0x7FFFFFFF);
        Path k = file("vmlinuz", img);
        assertThatThrownBy(() -> KernelLoader.load(k, null, "a".repeat(17), mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("vmlinuz").hasMessageContaining("16");
        // Exactly cmdline_size characters is fine.
        KernelLoader.load(k, null, "a".repeat(16), mem, map, 0);
        assertThat(cstring(BootLayout.CMDLINE_ADDR)).hasSize(16);
    }

    @Test
    void kernelWithout64BitEntryIsRefused() throws IOException {
        Path k = file("old", TestImages.bzImage(true, 0x1000000, 0x400000, 0, 255, 0x7FFFFFFF));
        assertThatThrownBy(() -> KernelLoader.load(k, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("old").hasMessageContaining("64-bit");
    }

    @Test
    void oldProtocolAndBadBootFlagAreRefused() throws IOException {
        byte[] img = TestImages.defaultBzImage();
        img[0x206] = 0x05; // 2.05
        Path k = file("v205", img);
        assertThatThrownBy(() -> KernelLoader.load(k, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("2.05");
        byte[] img2 = TestImages.defaultBzImage();
        img2[0x1FE] = 0;
        Path k2 = file("noflag", img2);
        assertThatThrownBy(() -> KernelLoader.load(k2, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("0xAA55");
    }

    @Test
    void kernelTooBigForRamIsRefused() throws IOException {
        Path k = file("huge", TestImages.bzImage(true, 0x1000000, 100 << 20, 1, 255, 0x7FFFFFFF));
        assertThatThrownBy(() -> KernelLoader.load(k, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("huge").hasMessageContaining("RAM");
    }

    @Test
    void missingGarbageAndEmptyFilesGiveOneLineMessages() throws IOException {
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> KernelLoader.load(missing, null, "", mem, map, 0))
                .isInstanceOf(BootException.class)
                .hasMessage("could not open kernel file '" + missing + "': No such file or directory");
        Path garbage = file("garbage", "this is not a kernel at all".repeat(100).getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> KernelLoader.load(garbage, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("garbage").hasMessageContaining("bzImage")
                .hasMessageNotContaining("\n");
        Path k = file("k", TestImages.defaultBzImage());
        Path rdMissing = dir.resolve("rd-missing");
        assertThatThrownBy(() -> KernelLoader.load(k, rdMissing, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("initrd file '" + rdMissing + "'");
        Path huge = dir.resolve("disk.img");
        try (var f = new java.io.RandomAccessFile(huge.toFile(), "rw")) {
            f.setLength(3L << 30); // sparse: costs nothing
        }
        assertThatThrownBy(() -> KernelLoader.load(huge, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("disk.img").hasMessageContaining("too large");
        // a device has no size and never ends: refused at once, not read until the heap runs out
        assertThatThrownBy(() -> KernelLoader.load(Path.of("/dev/zero"), null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessage("could not load kernel file '/dev/zero': "
                        + "not a regular file");
        Path truncated = file("trunc", java.util.Arrays.copyOf(TestImages.defaultBzImage(), 0x400));
        assertThatThrownBy(() -> KernelLoader.load(truncated, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("trunc");
    }
}
