package dev.jhv.core.boot;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Loads the real kernels guest-images/build produces, when they are there. */
class GuestImagesTest {
    static final Path OUT = Path.of(System.getProperty("jhv.root", ".."), "guest-images", "out");

    @Test
    void testosBzImageLoadsThroughThe64BitEntry() throws IOException {
        Path bin = OUT.resolve("testos.bin");
        assumeTrue(Files.isReadable(bin), "guest-images/out/testos.bin not built");
        byte[] img = Files.readAllBytes(bin);
        try (Arena arena = Arena.ofConfined()) {
            var map = new MemoryMap(64 * MemoryMap.MIB);
            var mem = TestImages.memory(arena, map);
            BootSetup s = KernelLoader.load(bin, null, "mode=poweroff", mem, map, 0xE0000);
            assertThat(s.kind()).isEqualTo(BootSetup.Kind.BZIMAGE);
            assertThat(s.entry().rip()).isEqualTo(s.kernelStart() + 0x200);
            int setup = ((img[0x1F1] == 0 ? 4 : img[0x1F1] & 0xFF) + 1) * 512;
            assertThat(mem.read(s.kernelStart(), 64)).isEqualTo(java.util.Arrays.copyOfRange(img, setup, setup + 64));
        }
    }

    @Test
    void pvhElfsLoadAtTheirNotedEntry() throws IOException {
        for (String name : new String[] {"testos.elf", "vmlinux"}) {
            Path elf = OUT.resolve(name);
            if (!Files.isReadable(elf)) {
                continue;
            }
            try (Arena arena = Arena.ofConfined()) {
                var map = new MemoryMap(256 * MemoryMap.MIB);
                var mem = TestImages.memory(arena, map);
                BootSetup s = KernelLoader.load(elf, null, "console=ttyS0", mem, map, 0xE0000);
                assertThat(s.kind()).isEqualTo(BootSetup.Kind.PVH);
                assertThat(s.entry().rip()).isBetween(s.kernelStart(), s.kernelEnd());
                assertThat(mem.readInt(BootLayout.PVH_START_INFO_ADDR)).isEqualTo(0x336EC578);
            }
        }
        assumeTrue(Files.isReadable(OUT.resolve("testos.elf")), "guest-images/out not built");
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }
}
