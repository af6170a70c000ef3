package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class AnalyzerTest {
    @TempDir
    Path dir;

    private record Run(int status, String out, String err) { }

    private static Run run(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int status = Analyzer.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path golden() throws IOException {
        Path f = dir.resolve("v2.jhvm");
        Files.write(f, Golden.read(Golden.V2));
        return f;
    }

    @Test
    void textListsSectionsFieldsSizesAndRamTotals() throws IOException {
        var r = run(golden().toString());
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains(
                "configuration: machine 'jhv-pc', memory 32768 bytes, 1 vCPUs",
                "devices: ram/0, testdev/0, testdev/1",
                "START 'ram' instance 0 version 1",
                "END 'ram'",
                "section 1 FULL 'testdev' instance 0 version 2",
                "section 2 FULL 'testdev' instance 1 version 2",
                "subsection 'testdev/extra' version 1: 22 bytes",
                "RAM: blocks [pc.ram 32768 bytes]; 8 pages: 6 zero, 2 normal");
        assertThat(r.out()).containsPattern("testdev/counter +uint32 +4 = 305419896");
        assertThat(r.out()).containsPattern("testdev/id +buffer +4 = 4a485630");
        assertThat(r.out()).containsPattern("testdev/extra/extra +uint16 +2 = 2989");
    }

    @Test
    void jsonReportHasTheSameFacts() throws IOException {
        var r = run(golden().toString(), "--json");
        assertThat(r.status()).as(r.err()).isZero();
        Map<?, ?> m = (Map<?, ?>) Json.parse(r.out());
        Map<?, ?> ram = (Map<?, ?>) m.get("ram");
        assertThat(ram.get("pages")).isEqualTo(8L);
        assertThat(ram.get("zero_pages")).isEqualTo(6L);
        assertThat(ram.get("normal_pages")).isEqualTo(2L);
        List<?> sections = (List<?>) m.get("sections");
        // START, three PARTs of 3 pages (the last one empty-ended), END, two devices
        var names = sections.stream().map(s -> ((Map<?, ?>) s).get("type") + " " + ((Map<?, ?>) s).get("name"))
                .toList();
        assertThat(names).startsWith("START ram").endsWith("END ram", "FULL testdev", "FULL testdev");
        Map<?, ?> dev = (Map<?, ?>) sections.get(sections.size() - 1);
        // header 1+4+1+7+4+4, reg, counter, id, subsection 1+1+13+4+2+1, end, footer 1+4+4
        assertThat(dev.get("size")).isEqualTo(21L + 1 + 4 + 4 + 22 + 1 + 9);
        long sum = 0;
        for (Object s : sections) {
            sum += (Long) ((Map<?, ?>) s).get("size");
        }
        assertThat(sum).isLessThan((Long) m.get("bytes"));
    }

    @Test
    void theCurrentRamFormatHasTheSameTotalsAndNamesADamagedPage() throws IOException {
        byte[] full = Golden.read(Golden.CURRENT);
        Path f = dir.resolve("current.jhvm");
        Files.write(f, full);
        var r = run(f.toString());
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("START 'ram' instance 0 version 2",
                "RAM: blocks [pc.ram 32768 bytes]; 8 pages: 6 zero, 2 normal");

        // page 1 holds bytes 0, 1, 2, ...: find its run of 0x10 0x11 0x12 and change one
        int at = Golden.indexOf(full, new byte[] {0x10, 0x11, 0x12, 0x13, 0x14});
        byte[] bad = full.clone();
        bad[at] ^= 1;
        Files.write(f, bad);
        r = run(f.toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("page 0x1000 of block 'pc.ram' is damaged");

        // a device field: named from the field checksums in the description
        bad = full.clone();
        bad[MigrationStreamTest.deviceSectionStart(full) + 22] ^= 1; // testdev/counter
        Files.write(f, bad);
        r = run(f.toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("section 'testdev'", "damaged",
                "the bytes of field 'testdev/counter' differ from what the source wrote");
    }

    @Test
    void damagedStreamsAreReportedWithStatusOne() throws IOException {
        byte[] full = Golden.read(Golden.V2);
        Path cut = dir.resolve("cut.jhvm");
        Files.write(cut, Arrays.copyOf(full, full.length / 2));
        var r = run(cut.toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("no JSON description at the end", "truncated");

        byte[] bad = full.clone();
        int dev = MigrationStreamTest.deviceSectionStart(full);
        bad[dev + 22] ^= 1;
        Path flipped = dir.resolve("flipped.jhvm");
        Files.write(flipped, bad);
        r = run(flipped.toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("section 'testdev'", "damaged");

        assertThat(run().status()).isEqualTo(2);
    }
}
