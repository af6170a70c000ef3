package dev.jhv.core.boot;

import dev.jhv.core.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.jhv.core.boot.MemoryMap.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PvhLoaderTest {
    @TempDir
    Path dir;
    Arena arena;
    MemoryMap map;
    GuestMemory mem;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        map = new MemoryMap(32 * MIB);
        mem = TestImages.memory(arena, map);
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void loadsSegmentsByPhysicalAddressAndBuildsStartInfo(boolean is64) throws IOException {
        long paddr = 0x200000;
        int fileSize = 0x3000;
        int memSize = 0x5000;
        mem.fill(paddr, memSize, (byte) 0xFF); // bss must come out zeroed
        byte[] elf = TestImages.pvhElf(is64, paddr, fileSize, memSize, 0x201234, true);
        Path k = Files.write(dir.resolve("vmlinux"), elf);
        byte[] rd = new byte[5000];
        rd[0] = 42;
        rd[4999] = 43;
        Path initrd = Files.write(dir.resolve("rd"), rd);

        BootSetup s = KernelLoader.load(k, initrd, "earlyprintk=serial console=ttyS0", mem, map, 0xE0000);

        assertThat(s.kind()).isEqualTo(BootSetup.Kind.PVH);
        assertThat(s.kernelStart()).isEqualTo(paddr);
        assertThat(s.kernelEnd()).isEqualTo(paddr + memSize);
        assertThat(mem.read(paddr, fileSize)).isEqualTo(java.util.Arrays.copyOfRange(elf, 0x1000, 0x1000 + fileSize));
        assertThat(mem.read(paddr + fileSize, memSize - fileSize)).containsOnly(0);

        long si = BootLayout.PVH_START_INFO_ADDR;
        assertThat(mem.readInt(si)).isEqualTo(0x336EC578);
        assertThat(mem.readInt(si + 4)).isEqualTo(1);
        assertThat(mem.readInt(si + 12)).isEqualTo(1);
        long modlist = mem.readLong(si + 16);
        assertThat(mem.readLong(modlist)).isEqualTo(s.initrdStart());
        assertThat(mem.readLong(modlist + 8)).isEqualTo(5000);
        assertThat(s.initrdStart() % 4096).isZero();
        assertThat(s.initrdStart()).isGreaterThanOrEqualTo(s.kernelEnd());
        assertThat(mem.readByte(s.initrdStart())).isEqualTo(42);
        assertThat(mem.readByte(s.initrdStart() + 4999)).isEqualTo(43);
        long cmd = mem.readLong(si + 24);
        assertThat(new String(mem.read(cmd, 32))).isEqualTo("earlyprintk=serial console=ttyS0");
        assertThat(mem.readByte(cmd + 32)).isZero();
        assertThat(mem.readLong(si + 32)).isEqualTo(0xE0000);
        long mm = mem.readLong(si + 40);
        var e820 = map.e820();
        assertThat(mem.readInt(si + 48)).isEqualTo(e820.size());
        for (int i = 0; i < e820.size(); i++) {
            assertThat(mem.readLong(mm + 24L * i)).isEqualTo(e820.get(i).start());
            assertThat(mem.readLong(mm + 24L * i + 8)).isEqualTo(e820.get(i).size());
            assertThat(mem.readInt(mm + 24L * i + 16)).isEqualTo(e820.get(i).type().code);
        }

        EntryState e = s.entry();
        assertThat(e.mode()).isEqualTo(EntryState.Mode.PROTECTED32);
        assertThat(e.rip()).isEqualTo(0x201234);
        assertThat(e.rbx()).isEqualTo(si);
        assertThat(e.cr0() & EntryState.CR0_PG).isZero();
        assertThat(e.cr0() & EntryState.CR0_PE).isOne();
        assertThat(e.efer()).isZero();
        assertThat(e.cs().db()).isTrue();
        assertThat(e.cs().l()).isFalse();
        assertThat(e.cs().limit()).isEqualTo(0xFFFFFFFF);
        assertThat(e.ds().type()).isEqualTo(3);
        assertThat(e.es()).isEqualTo(e.ds());
        assertThat(mem.readLong(e.gdtBase() + e.cs().selector())).isEqualTo(0x00CF9B000000FFFFL);
        assertThat(mem.readLong(e.gdtBase() + e.ds().selector())).isEqualTo(0x00CF93000000FFFFL);
    }

    @Test
    void noInitrdMeansNoModules() throws IOException {
        Path k = Files.write(dir.resolve("vmlinux"), TestImages.pvhElf(true, 0x100000, 0x1000, 0x1000, 0x100000, true));
        BootSetup s = KernelLoader.load(k, null, null, mem, map, 0);
        assertThat(mem.readInt(BootLayout.PVH_START_INFO_ADDR + 12)).isZero();
        assertThat(mem.readLong(BootLayout.PVH_START_INFO_ADDR + 16)).isZero();
        assertThat(s.initrdSize()).isZero();
        assertThat(mem.readByte(BootLayout.CMDLINE_ADDR)).isZero();
    }

    @Test
    void elfWithoutPvhNoteIsRefused() throws IOException {
        Path k = Files.write(dir.resolve("vmlinux-nopvh"),
                TestImages.pvhElf(true, 0x200000, 0x1000, 0x1000, 0x200000, false));
        assertThatThrownBy(() -> KernelLoader.load(k, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("vmlinux-nopvh").hasMessageContaining("PVH");
    }

    @Test
    void segmentOutsideRamIsRefused() throws IOException {
        Path k = Files.write(dir.resolve("vmlinux-big"),
                TestImages.pvhElf(true, 0x1000000, 0x1000, 64 << 20, 0x1000000, true));
        assertThatThrownBy(() -> KernelLoader.load(k, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("vmlinux-big").hasMessageContaining("RAM");
        Path low = Files.write(dir.resolve("vmlinux-low"),
                TestImages.pvhElf(true, 0x8000, 0x1000, 0x1000, 0x8000, true));
        assertThatThrownBy(() -> KernelLoader.load(low, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("vmlinux-low");
    }

    @Test
    void truncatedProgramHeadersAreRefused() throws IOException {
        byte[] elf = TestImages.pvhElf(true, 0x200000, 0x1000, 0x1000, 0x200000, true);
        Path k = Files.write(dir.resolve("cut"), java.util.Arrays.copyOf(elf, 100));
        assertThatThrownBy(() -> KernelLoader.load(k, null, "", mem, map, 0))
                .isInstanceOf(BootException.class).hasMessageContaining("cut");
    }
}
