package dev.jhv.migration.stream;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The golden streams checked into src/test/resources. They were written once by the code of their time; to write
 * them again (only when the format changes on purpose) run the tests with -Djhv.writeGolden=true.
 */
final class Golden {
    /** Frozen streams of earlier builds (test device versions 1 and 2, RAM section version 1): they must load. */
    static final String V1 = "golden-v1.jhvm";
    static final String V2 = "golden-v2.jhvm";
    /** What this build writes: test device version 2, RAM section version 2 (zero runs, page CRCs). */
    static final String CURRENT = "golden-v2-ram2.jhvm";

    private Golden() {
    }

    static byte[] generate(String name) {
        return switch (name) {
            case CURRENT -> Fixture.source(TestDevice.V2).save();
            default -> throw new IllegalArgumentException(name + " is frozen: this build cannot write it");
        };
    }

    static byte[] read(String name) {
        if (Boolean.getBoolean("jhv.writeGolden") && name.equals(CURRENT)) {
            write(name);
        }
        try (InputStream in = Golden.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new AssertionError("golden stream " + name + " is missing; write it with -Djhv.writeGolden=true");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path path(String name) {
        return Path.of(System.getProperty("jhv.root", "."), "hv-migration/src/test/resources/dev/jhv/migration/stream",
                name);
    }

    private static void write(String name) {
        try {
            Files.write(path(name), generate(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where {@code needle} first occurs in {@code s}. */
    static int indexOf(byte[] s, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= s.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (s[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not in the stream");
    }
}
