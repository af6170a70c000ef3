package dev.jhv.core.vmstate;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The JSON the streams carry, byte for byte as the hand-written codec of earlier builds wrote it: the golden files
 * under {@code golden/} were written by that codec (a real stream's description of every device of the PC board and
 * its configuration, the analyzer's indented report of that stream, and synthetic trees with every escape and
 * number kind). Streams and vm-state blobs already written must read back, and their checksums cover these bytes.
 */
class JsonGoldenTest {
    static String golden(String name) throws IOException {
        try (InputStream in = JsonGoldenTest.class.getResourceAsStream("golden/" + name)) {
            assertThat(in).as("golden file %s", name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The same tree the golden synthetic files were written from. */
    static Map<String, Object> synthetic() {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("s", "plain");
        t.put("esc", "q\"b\\s/n\nr\rt\tc\u0001\u0008\u000c\u001f\u007f\u0080 é € \ud83d\ude00 \u2028");
        t.put("key\"\\\n\u0002", "k");
        t.put("i", 42);
        t.put("imin", Integer.MIN_VALUE);
        t.put("l", Long.MIN_VALUE);
        t.put("lmax", Long.MAX_VALUE);
        t.put("d", 1.5d);
        t.put("dbig", 1e300d);
        t.put("dsmall", 1e-7d);
        t.put("neg0", -0.0d);
        t.put("dint", 3.0d);
        t.put("dlong", 12345678901234567.0d);
        t.put("t", true);
        t.put("f", false);
        t.put("n", null);
        t.put("em", new LinkedHashMap<>());
        t.put("el", new ArrayList<>());
        t.put("nested", List.of(List.of(new LinkedHashMap<>()), List.of(1L, List.of(2L, Map.of("k", List.of())), "x")));
        t.put("lnull", Arrays.asList(null, null));
        return t;
    }

    /** Values that are not all JSON (NaN), written as before all the same. */
    static Map<String, Object> syntheticExtra() {
        Map<String, Object> x = synthetic();
        x.put("float", 1.1f);
        x.put("short", (short) 7);
        x.put("big", new BigInteger("123456789012345678901234567890"));
        x.put("bigdec", new BigDecimal("1.50"));
        x.put("nan", Double.NaN);
        x.put("inf", Double.NEGATIVE_INFINITY);
        return x;
    }

    @Test
    void writesTheStreamsDescriptionOfEveryDeviceByteForByte() throws IOException {
        for (String name : List.of("stream-description.json", "stream-configuration.json")) {
            String old = golden(name);
            assertThat(Json.write(Json.parse(old)).getBytes(StandardCharsets.UTF_8)).as(name)
                    .isEqualTo(old.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void everyDeviceSectionOfTheOldStreamParsesIntoItsSchemaAndWritesBackTheSame() throws IOException {
        Map<?, ?> desc = (Map<?, ?>) Json.parse(golden("stream-description.json"));
        int devices = 0;
        for (Object o : (List<?>) desc.get("sections")) {
            Map<?, ?> s = (Map<?, ?>) o;
            if ("device".equals(s.get("kind"))) {
                VMStateSchema schema = VMStateSchema.fromJson(s.get("description"));
                assertThat(Json.write(schema.toJson())).isEqualTo(Json.write(s.get("description")));
                devices++;
            }
        }
        assertThat(devices).as("device sections in the golden stream").isEqualTo(11);
    }

    @Test
    void writesTheAnalyzersIndentedReportByteForByte() throws IOException {
        String old = golden("analyze.json");
        assertThat(Json.writePretty(Json.parse(old)) + "\n").isEqualTo(old);
    }

    @Test
    void writesEveryEscapeAndNumberAsBefore() throws IOException {
        assertThat(Json.write(synthetic())).isEqualTo(golden("synthetic.json"));
        assertThat(Json.writePretty(synthetic())).isEqualTo(golden("synthetic-pretty.json"));
        assertThat(Json.write(syntheticExtra())).isEqualTo(golden("synthetic-extra.json"));
        assertThat(Json.writePretty(syntheticExtra())).isEqualTo(golden("synthetic-extra-pretty.json"));
    }

    @Test
    void parsesTheOldTextIntoTheSameTree() throws IOException {
        Object back = Json.parse(golden("synthetic.json"));
        Map<String, Object> expected = synthetic();
        expected.put("i", 42L);
        expected.put("imin", (long) Integer.MIN_VALUE);
        assertThat(back).isEqualTo(expected);
        assertThat(Json.parse(golden("synthetic-pretty.json"))).isEqualTo(expected);
        assertThat(((Map<?, ?>) back).get("dint")).isInstanceOf(Double.class);
        assertThat(((Map<?, ?>) back).get("l")).isInstanceOf(Long.class);
    }
}
