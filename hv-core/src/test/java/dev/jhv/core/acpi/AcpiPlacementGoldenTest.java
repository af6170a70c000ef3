package dev.jhv.core.acpi;

import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.cpuid.Topology;
import dev.jhv.core.memory.GuestMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Direct kernel boot's tables are byte for byte what they were before the tables became relocatable: the SHA-256
 * of the whole BIOS area (0xE0000–0xFFFFF) after {@link AcpiTables#build}, taken from the fixed-address builder.
 */
class AcpiPlacementGoldenTest {
    @ParameterizedTest
    @CsvSource({
            "1, 1, 1, 1, 5689496cb301f2e6dce2a484741fdb309eb0f66360a2dc0461de651261d24301",
            "2, 3, 2, 10, ebe85629e955e0bd3df37ce1dd1ac0da9f244524bbe132d2db83db7405f03465",
            "2, 128, 2, 260, ce7081c1848851cf82d39370f3b8f567fdc63e05c68b7fce61132a3c93122a49",
    })
    void biosAreaBytesAreUnchanged(int sockets, int cores, int threads, int cpus, String sha256) throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            var map = new MemoryMap(4 * MemoryMap.MIB);
            var mem = new GuestMemory(List.of(new GuestMemory.Region(0, arena.allocate(map.lowMemoryEnd(), 4096))));
            mem.fill(AcpiTables.BASE, AcpiTables.LIMIT - AcpiTables.BASE, (byte) 0x5A);
            AcpiTables.build(mem, map, new Topology(sockets, cores, threads), cpus);
            byte[] area = mem.read(AcpiTables.BASE, (int) (AcpiTables.LIMIT - AcpiTables.BASE));
            String got = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(area));
            assertThat(got).isEqualTo(sha256);
        }
    }
}
