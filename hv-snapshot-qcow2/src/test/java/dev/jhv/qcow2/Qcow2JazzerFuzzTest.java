package dev.jhv.qcow2;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Jazzer fuzz target for the header and metadata parser. In a normal test run it replays the seed
 * corpus (regression mode); with JAZZER_FUZZ=1 (set by this module's pom) it fuzzes for maxDuration.
 */
class Qcow2JazzerFuzzTest {
    @FuzzTest(maxDuration = "20s")
    void parseAnyImage(byte[] data) throws Exception {
        Path dir = Files.createTempDirectory("jazzer-qcow2");
        try {
            FuzzHarness.exercise(data, dir);
        } catch (Qcow2Exception expected) {
            // the format's own error type is the only permitted outcome
        } finally {
            try (var s = Files.list(dir)) {
                for (var f : s.toList()) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        }
    }
}
